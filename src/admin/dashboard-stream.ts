/**
 * `GET /dashboard/events`: the dashboard's Server-Sent Events stream, one `snapshot` event (DashboardSnapshot as
 * JSON) every interval to every viewer. One snapshot is taken and serialised per tick whatever the number of viewers,
 * and only while someone watches. Bounded: at most `maxViewers` at once; a viewer whose socket has not drained the
 * previous frame skips this one (it sees fewer frames, the gateway keeps no backlog for it), and one that has not
 * drained for `stallTimeoutMs` is disconnected, so a stalled tab cannot hold a viewer slot for ever.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Code } from '../protocol/codes.ts';
import { refusalBody } from '../protocol/http-refusal.ts';
/** What the stream takes snapshots from: DashboardSnapshots, or a stand-in in tests. */
export interface SnapshotSource {
  take(): object;
  reset(): void;
}

export interface DashboardStreamOptions {
  /** @default 500 */
  intervalMs: number;
  /** @default 8 */
  maxViewers: number;
  /** @default 30000 */
  stallTimeoutMs: number;
}

export const defaultDashboardStreamOptions: Readonly<DashboardStreamOptions> = Object.freeze({
  intervalMs: 500,
  maxViewers: 8,
  stallTimeoutMs: 30_000,
});

interface Viewer {
  res: ServerResponse;
  /** When the socket last had room for a frame. */
  drainedAt: number;
}

export class DashboardStream {
  readonly #snapshots: SnapshotSource;
  readonly #options: Readonly<DashboardStreamOptions>;
  readonly #viewers = new Set<Viewer>();
  #timer: NodeJS.Timeout | undefined;
  /** The latest frame, sent at once to a viewer that joins between ticks. */
  #last = '';
  #closed = false;
  /** Frames skipped because a viewer's socket was still full: a measure of slow viewers. */
  skipped = 0;

  constructor(snapshots: SnapshotSource, options: Partial<DashboardStreamOptions> = {}) {
    this.#snapshots = snapshots;
    this.#options = Object.freeze({ ...defaultDashboardStreamOptions, ...options });
  }

  get viewers(): number {
    return this.#viewers.size;
  }

  /** Serves one viewer (the request's key has been checked) until it goes away or the stream closes. */
  open(req: IncomingMessage, res: ServerResponse): void {
    if (this.#closed || this.#viewers.size >= this.#options.maxViewers) {
      const reason = `the dashboard has ${this.#options.maxViewers} viewers, its limit; try again later`;
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
      res.end(refusalBody(Code.TOO_MANY_CONNECTIONS, reason));
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // A reverse proxy must pass each frame on as it comes, not buffer the stream.
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const viewer: Viewer = { res, drainedAt: Date.now() };
    this.#viewers.add(viewer);
    res.on('close', () => this.#leave(viewer));
    res.on('drain', () => (viewer.drainedAt = Date.now()));
    res.write(`retry: ${Math.max(1000, this.#options.intervalMs * 2)}\n\n`);
    if (this.#timer === undefined) {
      this.#tick();
      this.#timer = setInterval(() => this.#tick(), this.#options.intervalMs).unref();
    } else if (this.#last !== '') {
      res.write(this.#last);
    }
  }

  /** Ends every viewer's stream and stops the timer. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#stop();
    for (const viewer of this.#viewers) viewer.res.end();
    this.#viewers.clear();
  }

  #tick(): void {
    this.#last = `event: snapshot\ndata: ${JSON.stringify(this.#snapshots.take())}\n\n`;
    const now = Date.now();
    for (const viewer of this.#viewers) {
      const { res } = viewer;
      if (!res.writableNeedDrain) {
        viewer.drainedAt = now;
        res.write(this.#last);
      } else if (now - viewer.drainedAt > this.#options.stallTimeoutMs) {
        res.destroy();
      } else {
        this.skipped++;
      }
    }
  }

  #leave(viewer: Viewer): void {
    this.#viewers.delete(viewer);
    if (this.#viewers.size === 0) this.#stop();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#last = '';
    this.#snapshots.reset();
  }
}
