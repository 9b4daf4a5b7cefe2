/**
 * Session ids: 64-bit, unique across gateway instances and restarts, and the owning worker is recoverable from the
 * id alone, so any thread routes a push to the owner in one hop. Exposed to JavaScript as a decimal string.
 *
 *   bits 33–63  seconds since 2025-01-01T00:00:00Z (a logical clock: never goes back, borrows ahead on overflow)
 *   bits 20–32  node id (0–8191): one per gateway instance (`nodeId` option)
 *   bits 14–19  worker index (0–63)
 *   bits  0–13  sequence within the second (16,384 per second per worker before the clock borrows ahead)
 *
 * Uniqueness across restarts of a worker: the clock state lives in a SharedArrayBuffer owned by the supervisor, so a
 * restarted worker continues where its predecessor stopped. Across instances: distinct node ids.
 */
export const EPOCH_MS = Date.UTC(2025, 0, 1);
export const MAX_NODE_ID = 0x1fff;
export const MAX_WORKERS = 64;
const SEQ_BITS = 14n;
const WORKER_SHIFT = 14n;
const NODE_SHIFT = 20n;
const TIME_SHIFT = 33n;
const SEQ_LIMIT = 1 << 14;

export interface SessionIdParts {
  seconds: number;
  nodeId: number;
  worker: number;
  seq: number;
}

/** Clock state shared with the supervisor: [lastSecond, seq] as Int32 (seconds fit 31 bits until 2093). */
export function createIdClockState(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}

export class SessionIdGenerator {
  readonly #nodeId: bigint;
  readonly #worker: bigint;
  readonly #state: Int32Array;
  readonly #now: () => number;

  constructor(nodeId: number, worker: number, state: Int32Array = createIdClockState(), now: () => number = Date.now) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > MAX_NODE_ID) throw new RangeError(`nodeId ${nodeId} outside 0–${MAX_NODE_ID}`);
    if (!Number.isInteger(worker) || worker < 0 || worker >= MAX_WORKERS) throw new RangeError(`worker ${worker} outside 0–${MAX_WORKERS - 1}`);
    this.#nodeId = BigInt(nodeId);
    this.#worker = BigInt(worker);
    this.#state = state;
    this.#now = now;
  }

  next(): string {
    const state = this.#state;
    const nowSec = Math.floor((this.#now() - EPOCH_MS) / 1000);
    let second = state[0]!;
    let seq = state[1]!;
    if (nowSec > second) {
      second = nowSec;
      seq = 0;
    } else if (seq >= SEQ_LIMIT) {
      // More than SEQ_LIMIT sessions in one second: borrow the next second rather than repeat an id.
      second += 1;
      seq = 0;
    }
    state[0] = second;
    state[1] = seq + 1;
    const id = (BigInt(second) << TIME_SHIFT) | (this.#nodeId << NODE_SHIFT) | (this.#worker << WORKER_SHIFT) | BigInt(seq);
    return id.toString();
  }
}

export function parseSessionId(id: string | bigint): SessionIdParts {
  const value = typeof id === 'bigint' ? id : BigInt(id);
  return {
    seconds: Number(value >> TIME_SHIFT),
    nodeId: Number((value >> NODE_SHIFT) & 0x1fffn),
    worker: Number((value >> WORKER_SHIFT) & 0x3fn),
    seq: Number(value & ((1n << SEQ_BITS) - 1n)),
  };
}

/** The owning worker of a session, from its id alone. */
export function workerOfSession(id: string): number {
  return Number((BigInt(id) >> WORKER_SHIFT) & 0x3fn);
}
