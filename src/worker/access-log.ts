/**
 * The access log: one JSON line per session at its close, written in batches off the worker's loop (LineBatcher,
 * AccessLogSink) to its own destination (`accessLog.destination`). A line is built only when the log is on, once
 * per connection; what it reports was counted on the session as it went (session.ts).
 *
 * A closing worker writes what it holds before its thread ends (within shutdown.flushTimeoutMs, then synchronously);
 * a worker that crashes loses at most the lines it held (`accessLog.maxBufferLines`).
 */
import { AccessLogSlot } from '../core/counters.ts';
import { ConfigError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { AccessLogOptions } from '../core/options-types.ts';
import { AccessLogSink } from './access-log-sink.ts';
import { LineBatcher } from './line-batcher.ts';
import type { Session } from './session.ts';

/** Lines that make a batch worth a write of its own before the timer. */
const BATCH_LINES = 256;

export class AccessLog {
  readonly #worker: number;
  readonly #batcher: LineBatcher;

  /** The worker's access log, undefined when it is off; a destination it cannot open throws a ConfigError. */
  static open(options: Readonly<AccessLogOptions>, worker: number, counters: Float64Array, logger: Logger) {
    return options.destination === null ? undefined : new AccessLog(options, worker, counters, logger);
  }

  private constructor(options: Readonly<AccessLogOptions>, worker: number, counters: Float64Array, logger: Logger) {
    this.#worker = worker;
    let failures = 0;
    const { maxBufferLines: maxLines, flushIntervalMs } = options;
    this.#batcher = new LineBatcher(
      openSink(options.destination!),
      { maxLines, batchLines: Math.min(BATCH_LINES, maxLines), flushIntervalMs },
      {
        written: (lines) => (counters[AccessLogSlot.WRITTEN] += lines),
        dropped: (lines) => (counters[AccessLogSlot.DROPPED] += lines),
        // The first failure and then every 100th: a destination that stays broken must not flood the logs.
        failed: (err) => {
          if (failures++ % 100 !== 0) return;
          const code = (err as NodeJS.ErrnoException).code;
          logger.error({ err: { code, message: err.message }, failures }, 'access log write failed');
        },
      },
    );
  }

  /** The session ended with `code` and `reason`: its line, or a dropped line when the buffer is full. */
  closed(session: Session, code: number, reason: string): void {
    const closedAt = Date.now();
    this.#batcher.push(
      JSON.stringify({
        openedAt: new Date(session.openedAt).toISOString(),
        closedAt: new Date(closedAt).toISOString(),
        durationMs: closedAt - session.openedAt,
        remote: session.remoteAddress,
        path: session.path,
        user: session.userId ?? null,
        worker: this.#worker,
        session: session.id,
        framesIn: session.framesIn,
        bytesIn: session.bytesIn,
        framesOut: session.framesOut,
        bytesOut: session.bytesOut,
        code,
        reason,
      }),
    );
  }

  /** Resolves once every line so far is written, or at `timeoutMs`. */
  flush(timeoutMs: number): Promise<boolean> {
    return this.#batcher.drain(timeoutMs);
  }

  /** The thread is ending: what is still held is written now, synchronously, and the destination released. */
  close(): void {
    this.#batcher.close();
  }
}

function openSink(destination: string): AccessLogSink {
  try {
    return new AccessLogSink(destination);
  } catch (err) {
    throw new ConfigError('accessLog.destination', `cannot be opened for appending: ${(err as Error).message}`);
  }
}
