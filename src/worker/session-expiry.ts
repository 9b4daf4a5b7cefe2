/**
 * Closes sessions when their token expires (TOKEN_EXPIRED, retryable: get a fresh token and reconnect), unless a
 * REFRESH moved the deadline first. One min-heap of (deadline, session) per worker and one unref'd timer armed for
 * the earliest, so a worker with many sessions pays nothing per session per tick.
 *
 * Entries are never removed in place: a session that closed or refreshed leaves a stale entry, skipped when it comes
 * up. Stale entries are counted and the heap is rebuilt without them once they are the majority (checked whenever
 * an entry goes stale: a refresh or a release), so neither a churn of short sessions, nor many refreshes, nor sessions
 * with long tokens that all closed can hold it beyond twice the sessions it tracks.
 *
 * The close is not corked: in this uWS build (uwebsockets 3.0.6) `ws.end` inside `ws.cork` sends the close frame but
 * never the TCP FIN (measured), leaving the connection to a client that may not answer; uncorked, it is one write.
 */
import { AuthSlot } from '../core/counters.ts';
import { Code } from '../protocol/codes.ts';
import type { Session } from './session.ts';

interface Entry {
  readonly at: number;
  readonly session: Session;
}

/** setTimeout's ceiling is 2^31 − 1 ms; a later deadline re-arms on the way. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class SessionExpiry {
  readonly #counters: Float64Array;
  readonly #heap: Entry[] = [];
  #stale = 0;
  #timer: NodeJS.Timeout | undefined;
  #armedFor = Number.POSITIVE_INFINITY;
  #stopped = false;

  constructor(counters: Float64Array) {
    this.#counters = counters;
  }

  /** Entries held, stale ones included (for tests of the bound). */
  get size(): number {
    return this.#heap.length;
  }

  /** (Re)schedules the session's close at `session.auth.closesAt`; a refreshed session's older entry goes stale. */
  schedule(session: Session, replacing: boolean): void {
    if (replacing) this.#stale++;
    const at = session.auth?.closesAt ?? 0;
    if (at === 0 || this.#stopped) return;
    this.#push({ at, session });
    this.#compactIfStale();
    if (at < this.#armedFor) this.#arm();
  }

  /** The session ended: its entry (if any) is stale from now on. */
  released(session: Session): void {
    if ((session.auth?.closesAt ?? 0) === 0) return;
    this.#stale++;
    this.#compactIfStale();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#heap.length = 0;
  }

  #live(entry: Entry): boolean {
    return !entry.session.closed && entry.session.auth?.closesAt === entry.at;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) {
      const entry = this.#pop();
      if (!this.#live(entry)) {
        if (this.#stale > 0) this.#stale--;
        continue;
      }
      // Its entry is gone now: the release that follows the close must not count it stale again.
      entry.session.auth!.closesAt = 0;
      this.#counters[AuthSlot.EXPIRED_CLOSES]++;
      entry.session.ws.end(Code.TOKEN_EXPIRED, 'token expired');
    }
    if (this.#heap.length > 0) this.#arm();
  }

  #arm(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    const at = this.#heap[0]!.at;
    this.#armedFor = at;
    this.#timer = setTimeout(() => this.#fire(), Math.min(MAX_DELAY_MS, Math.max(0, at - Date.now()))).unref();
  }

  #compactIfStale(): void {
    if (this.#stale <= this.#heap.length / 2) return;
    const live = this.#heap.filter((entry) => this.#live(entry));
    this.#heap.length = 0;
    this.#stale = 0;
    for (const entry of live) this.#push(entry);
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= entry.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): Entry {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
        if (heap[child]!.at >= last.at) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
