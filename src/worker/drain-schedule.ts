/**
 * A worker's part of a paced drain (`shutdown.drainWindowMs`): the reconnectAfterMs each of its sessions is told in
 * its DRAIN, and the close, with DRAINED and at that same time, of the sessions still open then. Every worker of the
 * process computes its offsets from the session counts of all of them, so that the union over the process is evenly
 * spaced without the workers talking to each other (the rule is `drainOffsets`).
 */

import { encodeDrain } from '../protocol/control.ts';

/** What the supervisor tells each worker of a paced drain (structured-clone safe). */
export interface DrainSpread {
  /** The window, ms: the last session's time is just under it. */
  windowMs: number;
  /**
   * Where this worker's spread begins in the window: 0, or for a worker restarted during the drain the time gone. A
   * session's reconnect-after is its offset less this, counted from when its worker sends the DRAINs.
   */
  fromMs: number;
  /** Each worker's sessions when the DRAINs went out, by index; a worker counts its own sessions itself. */
  counts: readonly number[];
}

/**
 * How many of `m` sessions of another worker come before this worker's k-th of `n`, and, on a tie (fractions
 * equal), whether they come first: by index. Fractions compared in integers: (j + ½) / m < (k + ½) / n.
 */
function before(k: number, n: number, m: number, first: boolean): number {
  if (m === 0) return 0;
  const x = (2 * k + 1) * m;
  // j counts when (2j + 1) · n < x, i.e. 2j + 1 ≤ floor((x − 1) / n)
  let count = Math.floor((Math.floor((x - 1) / n) + 1) / 2);
  if (first && x % n === 0 && (x / n) % 2 === 1) count++;
  return Math.min(m, Math.max(0, count));
}

/**
 * The offsets (ms into the window) of this worker's `n` sessions, in their order. The rule: the k-th of worker w's
 * n sessions stands at the fraction (k + ½) / n; all workers' fractions merged (ties by worker index) give each
 * session its rank r among the N sessions of the process, and its offset is from + (window − from) · r / N. So the
 * process's offsets are N evenly spaced points from `fromMs` to just under the window, and each worker's own are
 * spread over the whole window too, so no worker closes all its sessions in one part of it.
 */
export function drainOffsets(spread: DrainSpread, worker: number, n: number): number[] {
  const counts = spread.counts.map((count, i) => (i === worker ? n : count));
  if (worker >= counts.length) counts[worker] = n;
  const total = counts.reduce((sum, count) => sum + count, 0);
  const span = Math.max(0, spread.windowMs - spread.fromMs);
  const offsets: number[] = [];
  for (let k = 0; k < n; k++) {
    let rank = k;
    for (let v = 0; v < counts.length; v++) if (v !== worker) rank += before(k, n, counts[v]!, v < worker);
    offsets.push(spread.fromMs + Math.floor((span * rank) / total));
  }
  return offsets;
}

/** The close waves' period: about a hundredth of the window, between 10 and 100 ms. */
export function drainTickMs(windowMs: number): number {
  return Math.max(10, Math.min(100, Math.floor(windowMs / 100)));
}

/**
 * The closes of one worker's paced drain: every tick closes the sessions whose time has come (`onDue`), in order.
 * `T` is the session; `isOpen` skips those that left by themselves.
 */
export class DrainSchedule<T> {
  readonly #sessions: readonly T[];
  /** Epoch ms each session is closed if still open (its reconnect-after and a tick), ascending; its reconnect-after. */
  #due: Float64Array = new Float64Array(0);
  readonly #after: readonly number[];
  readonly #isOpen: (session: T) => boolean;
  readonly #onDue: (session: T) => void;
  #next = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly tickMs: number;

  constructor(
    sessions: readonly T[],
    spread: DrainSpread,
    worker: number,
    isOpen: (s: T) => boolean,
    onDue: (s: T) => void,
  ) {
    this.#sessions = sessions;
    this.#isOpen = isOpen;
    this.#onDue = onDue;
    this.tickMs = drainTickMs(spread.windowMs);
    this.#after = drainOffsets(spread, worker, sessions.length).map((offset) => offset - spread.fromMs);
  }

  /**
   * Sets the close times from `now`, the moment the worker's DRAINs have gone out: each worker counts from its own
   * moment, so what a client is told and when it is closed agree to the tick, whatever the threads' skew. One tick of
   * grace: a client that leaves at its time leaves by itself, and the gateway's closes count only the clients that
   * ignored DRAIN (actorgate_drain_closes_total).
   */
  arm(now: number): void {
    this.#due = Float64Array.from(this.#after, (after) => now + after + this.tickMs);
  }

  /** What the i-th session's DRAIN says: the time from the DRAINs to its close. */
  reconnectAfterMs(i: number): number {
    return this.#after[i]!;
  }

  /** Arms the schedule from `now` and closes the due sessions every tick. */
  start(now = Date.now()): void {
    this.arm(now);
    if (this.#timer !== undefined || this.#next >= this.#sessions.length) return;
    this.#timer = setInterval(() => this.tick(Date.now()), this.tickMs);
    this.#timer.unref();
  }

  /** Closes every session due by `now`; returns how many it closed. */
  tick(now: number): number {
    let closed = 0;
    while (this.#next < this.#sessions.length && this.#due[this.#next]! <= now) {
      const session = this.#sessions[this.#next++]!;
      if (!this.#isOpen(session)) continue;
      this.#onDue(session);
      closed++;
    }
    if (this.#next >= this.#sessions.length) this.stop();
    return closed;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** A drain as a worker was asked for it: `spread` only for a paced one. */
export interface DrainRequest {
  reconnectAfterMs: number;
  url: string;
  spread: DrainSpread | undefined;
}

/**
 * DRAIN to every session: one frame for all, or (paced) each its own time; returns the started schedule of the
 * closes at those times (`close`), or undefined when not paced.
 */
export function sendDrains<T extends { closed: boolean }>(
  sessions: readonly T[],
  { reconnectAfterMs, url, spread }: DrainRequest,
  worker: number,
  sender: { send(session: T, frame: Uint8Array): unknown },
  close: (session: T) => void,
): DrainSchedule<T> | undefined {
  if (spread === undefined) {
    const frame = encodeDrain(reconnectAfterMs, url);
    for (const session of sessions) sender.send(session, frame);
    return undefined;
  }
  const schedule = new DrainSchedule(sessions, spread, worker, (s) => !s.closed, close);
  sessions.forEach((session, i) => sender.send(session, encodeDrain(schedule.reconnectAfterMs(i), url)));
  // Counted from after the sends: the last session's DRAIN left later than the first's.
  schedule.start();
  return schedule;
}
