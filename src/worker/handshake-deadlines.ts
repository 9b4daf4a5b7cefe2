/**
 * The handshake timeout (`limits.handshakeTimeoutMs`, docs/PROTOCOL.md §1): a TCP connection whose upgrade request
 * has not arrived complete in time gets HTTP 408 HANDSHAKE_TIMEOUT and is closed, well before uWS's own timeout of
 * about 10 s, so slow or stalled requests (slowloris) cannot hold connections.
 *
 * uWS reports each new connection to `app.filter` with a response object for it, which is the only handle the
 * gateway gets on a connection that has not sent a request yet. Using it later is safe only while the connection is
 * still waiting for its request: once it is upgraded the object points at a WebSocket (or freed memory), and this
 * uWS.js build gives no way to tell which filter object a later upgrade handler's response is. So:
 * - a connection that closes while waiting reports itself exactly: the `onAborted` handler installed on its filter
 *   object runs (uWS runs it on close until a response, an upgrade or another `onAborted` replaces it);
 * - every request that arrives (upgrade handler or fallback route) is reported by its peer address. When that peer
 *   has one waiting connection, that is the one, and it is dropped from the watch. When it has several, the gateway
 *   cannot tell which, so all of them become "uncertain": never touched again, left to uWS's own timeout, and
 *   forgotten once every one of them has either reported its close or the arrivals account for them all.
 * Only a connection that is certainly still waiting is ever answered with 408, so the filter object is never used
 * after its connection left the HTTP state. The usual client (one handshake at a time per address) gets the timeout
 * exactly; several handshakes in flight from one address at once fall back to uWS's.
 */
import type uWS from 'uWebSockets.js';
import { LimitSlot } from '../core/counters.ts';
import { Code } from '../protocol/codes.ts';
import { writeRefusal } from '../protocol/http-refusal.ts';

/** One peer address's connections being watched. */
interface Peer {
  readonly address: string;
  readonly waiting: Set<Watched>;
  /** Bumped by each arrival that could not be matched: connections opened before it are uncertain. */
  epoch: number;
  /** Uncertain connections still in `waiting`. */
  uncertain: number;
  /** How many of the uncertain ones have left (their request arrived) without being identified. */
  departed: number;
}

interface Watched {
  readonly res: uWS.HttpResponse;
  readonly peer: Peer;
  readonly openedAt: number;
  readonly epoch: number;
  /** Out of the watch (closed, identified, answered, or forgotten): nothing more is done with it. */
  gone: boolean;
}

const TIMEOUT_REASON = 'the upgrade request did not arrive within limits.handshakeTimeoutMs';

export class HandshakeDeadlines {
  readonly #timeoutMs: number;
  readonly #counters: Float64Array;
  readonly #peers = new Map<string, Peer>();
  /** Connections in the order they opened, for the sweep: the first is always the oldest. */
  readonly #byAge = new Set<Watched>();
  #timer: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number, counters: Float64Array) {
    this.#timeoutMs = timeoutMs;
    this.#counters = counters;
  }

  /** Connections still held, certain or not (tests). */
  get watching(): number {
    let count = 0;
    for (const peer of this.#peers.values()) count += peer.waiting.size;
    return count;
  }

  /** Watches every connection `app` accepts from now on. */
  attach(app: uWS.TemplatedApp): void {
    app.filter((res, count) => {
      if (count === 1) this.#opened(res);
    });
    this.#timer ??= setInterval(() => this.sweep(performance.now()), Math.max(25, Math.min(1000, this.#timeoutMs / 4))).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A request arrived on a connection from `res`'s peer; call it first in every request handler. */
  requestArrived(res: uWS.HttpResponse): void {
    const peer = this.#peers.get(addressOf(res));
    if (peer === undefined) return;
    if (peer.waiting.size === 1 && peer.uncertain === 0) {
      for (const watched of peer.waiting) this.#forget(watched);
      return;
    }
    peer.epoch++;
    peer.uncertain = peer.waiting.size;
    peer.departed++;
    this.#settle(peer);
  }

  /** Answers and closes every connection certainly still waiting past the deadline. */
  sweep(now: number): void {
    for (const watched of this.#byAge) {
      if (now - watched.openedAt < this.#timeoutMs) return;
      this.#byAge.delete(watched);
      if (watched.epoch !== watched.peer.epoch) continue; // uncertain: left to uWS, forgotten by #settle
      this.#forget(watched);
      this.#counters[LimitSlot.HANDSHAKE_TIMEOUTS]++;
      const { res } = watched;
      res.cork(() => writeRefusal(res, 408, Code.HANDSHAKE_TIMEOUT, TIMEOUT_REASON));
    }
  }

  #opened(res: uWS.HttpResponse): void {
    const address = addressOf(res);
    let peer = this.#peers.get(address);
    if (peer === undefined) {
      peer = { address, waiting: new Set(), epoch: 0, uncertain: 0, departed: 0 };
      this.#peers.set(address, peer);
    }
    const watched: Watched = { res, peer, openedAt: performance.now(), epoch: peer.epoch, gone: false };
    peer.waiting.add(watched);
    this.#byAge.add(watched);
    res.onAborted(() => this.#closed(watched));
  }

  /** The connection closed while its filter handler was still installed: it never left the waiting state. */
  #closed(watched: Watched): void {
    if (watched.gone) return;
    const peer = watched.peer;
    if (watched.epoch !== peer.epoch) peer.uncertain--;
    this.#forget(watched);
    this.#settle(peer);
  }

  /** When every uncertain connection still watched is accounted for by departures, they have all left. */
  #settle(peer: Peer): void {
    if (peer.uncertain > peer.departed) return;
    for (const watched of peer.waiting) if (watched.epoch !== peer.epoch) this.#forget(watched);
    peer.uncertain = 0;
    peer.departed = 0;
  }

  #forget(watched: Watched): void {
    watched.gone = true;
    this.#byAge.delete(watched);
    const peer = watched.peer;
    peer.waiting.delete(watched);
    if (peer.waiting.size === 0) this.#peers.delete(peer.address);
  }
}

function addressOf(res: uWS.HttpResponse): string {
  return Buffer.from(res.getRemoteAddress()).toString('hex');
}
