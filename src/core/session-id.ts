/**
 * Session ids: 64-bit, unique across gateway instances and restarts, and the owning worker is recoverable from the
 * id alone, so any thread routes a push to the owner in one hop. Exposed to JavaScript as a decimal string.
 *
 *   bits 33–63  seconds since 2025-01-01T00:00:00Z
 *   bits 20–32  node id (0–8191): one per gateway instance (`nodeId` option)
 *   bits 14–19  worker index (0–63)
 *   bits  0–13  fraction of the second, in 1/16384 s
 *
 * Seconds and fraction together are one 45-bit logical clock in ticks of 1/16384 s. Each (node, worker) issues
 * strictly increasing ticks: the current time, or the last tick + 1 when ids come faster than one per tick.
 *
 * Inside a worker an id travels as its two 32-bit words (`lo`, `hi`: what the fixed64 on the backend stream is made
 * of), and a worker keys its sessions by the id's tick (`sessionKey`): 45 bits, an exact JavaScript number, unique
 * among the ids one (node, worker) slot issues; the other 19 bits (`ownerOf`) are the same for all of them. The
 * decimal string is made only where an API documents it (JavaScript APIs, the push API, logs, SessionEvent).
 * Measured in bench/micro/session-key.ts: a backend packet's id to its Session costs ~0.4× the decimal-string
 * lookup with 10,000 sessions and ~0.15× with 100,000 (a bigint key: ~0.75× and ~0.35×).
 *
 * Why that is unique:
 * - Across workers and instances: distinct worker indexes and node ids.
 * - Across restarts of a worker: the clock state lives in a SharedArrayBuffer owned by the supervisor, so a restarted
 *   worker continues where its predecessor stopped.
 * - Across restarts of the process (same node id, nothing persisted): a process never issues a tick more than
 *   MAX_LEAD_TICKS (2 s) ahead of its clock; past that, issuing waits for the clock (at most one tick per id). So
 *   everything a process issued is ≤ the time it ended + MAX_LEAD_TICKS, and a new process starts its clock at its
 *   start time + MAX_LEAD_TICKS + 1 tick, above all of it. Until real time passes that starting point (2 s), a new
 *   process issues one id per tick elapsed since it started (16,384 per second per worker); after that it may run
 *   up to 2 s ahead again in a burst.
 * - The clock is the wall clock read once at process start plus a monotonic clock, so a wall-clock step during a
 *   run changes nothing within the process. The guarantee across processes assumes the wall clock did not step
 *   backwards while the previous process ran or between the two (NTP slewing is fine): a backward step of X seconds
 *   lets the new process repeat up to X seconds' worth of its predecessor's ids.
 */
export const EPOCH_MS = Date.UTC(2025, 0, 1);
export const MAX_NODE_ID = 0x1fff;
export const MAX_WORKERS = 64;
const SEQ_BITS = 14n;
const WORKER_SHIFT = 14n;
const NODE_SHIFT = 20n;
const TIME_SHIFT = 33n;
/** Ticks per second of the id clock (the 14 low bits). */
export const TICKS_PER_SECOND = 1 << 14;
const TICKS_PER_MS = TICKS_PER_SECOND / 1000;
/** How far ahead of its clock a process may issue ids (a burst allowance); a new process starts this far ahead + 1. */
export const MAX_LEAD_TICKS = 2 * TICKS_PER_SECOND;

/** A freshly issued id, in every form the gateway uses. */
export interface IssuedSessionId {
  /** The id in decimal, for APIs, logs and session events. */
  readonly text: string;
  /** Low and high 32-bit words, as int32 (the fixed64's halves, as the stream codec reads them). */
  readonly lo: number;
  readonly hi: number;
  /** The id's tick: the key of the session inside its worker (sessionKey). */
  readonly key: number;
}

/** The tick (seconds × 16384 + fraction) of the id with words (lo, hi): unique among one (node, worker)'s ids. */
export function sessionKey(lo: number, hi: number): number {
  return (hi >>> 1) * TICKS_PER_SECOND + (lo & 0x3fff);
}

/** The id's node id and worker index as one number, `nodeId << 6 | worker` (bits 14–32 of the id). */
export function ownerOf(lo: number, hi: number): number {
  return ((hi & 1) << 18) | (lo >>> 14);
}

/** `ownerOf` for ids issued by this node and worker. */
export function ownerTag(nodeId: number, worker: number): number {
  return (nodeId << 6) | worker;
}

/** The decimal form of the id with words (lo, hi). */
export function sessionIdText(lo: number, hi: number): string {
  return ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString();
}

export interface SessionIdParts {
  seconds: number;
  nodeId: number;
  worker: number;
  /** The fraction of the second, in ticks of 1/16384 s (the low 14 bits). */
  seq: number;
}

/** Milliseconds on the system's monotonic clock: the same in every thread, never stepped. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

/** The id clock (ticks since EPOCH_MS) at wall-clock time `ms`. */
function ticksAt(ms: number): number {
  return Math.floor((ms - EPOCH_MS) * TICKS_PER_MS);
}

/**
 * Clock state of one worker slot, shared with (and owned by) the supervisor so it outlives the worker thread.
 * Int32 [0] seconds and [1] fraction of the last tick issued, then a Float64 at byte 8: wall − monotonic ms at
 * process start. Created once per process start: the first tick it allows is `startMs` + MAX_LEAD_TICKS + 1.
 */
export function createIdClockState(startMs: number = Date.now(), startMonotonicMs: number = monotonicMs()): Int32Array {
  const buffer = new SharedArrayBuffer(16);
  const state = new Int32Array(buffer, 0, 2);
  writeTick(state, ticksAt(startMs) + MAX_LEAD_TICKS);
  new Float64Array(buffer, 8, 1)[0] = startMs - startMonotonicMs;
  return state;
}

function readTick(state: Int32Array): number {
  return state[0]! * TICKS_PER_SECOND + state[1]!;
}

function writeTick(state: Int32Array, tick: number): void {
  state[0] = Math.floor(tick / TICKS_PER_SECOND);
  state[1] = tick % TICKS_PER_SECOND;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` (fractions allowed); only reached above 16,384 ids per second past the burst. */
function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

export class SessionIdGenerator {
  readonly #nodeId: bigint;
  readonly #worker: bigint;
  readonly #state: Int32Array;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => void;

  /**
   * @param state the slot's clock state (createIdClockState), shared by every thread that fills the slot in turn
   * @param now wall-clock ms, never decreasing; by default the process-start wall clock plus the monotonic clock
   * @param sleep blocks for the given ms when ids run MAX_LEAD_TICKS ahead of `now`
   */
  constructor(
    nodeId: number,
    worker: number,
    state: Int32Array = createIdClockState(),
    now?: () => number,
    sleep: (ms: number) => void = sleepMs,
  ) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > MAX_NODE_ID) throw new RangeError(`nodeId ${nodeId} outside 0–${MAX_NODE_ID}`);
    if (!Number.isInteger(worker) || worker < 0 || worker >= MAX_WORKERS) throw new RangeError(`worker ${worker} outside 0–${MAX_WORKERS - 1}`);
    this.#nodeId = BigInt(nodeId);
    this.#worker = BigInt(worker);
    this.#state = state;
    if (now === undefined) {
      const offset = new Float64Array(state.buffer, 8, 1)[0]!;
      now = () => offset + monotonicMs();
    }
    this.#now = now;
    this.#sleep = sleep;
  }

  next(): string {
    return this.issue().text;
  }

  issue(): IssuedSessionId {
    let tick = readTick(this.#state) + 1;
    for (;;) {
      const nowTick = ticksAt(this.#now());
      if (tick < nowTick) tick = nowTick;
      const ahead = tick - nowTick - MAX_LEAD_TICKS;
      if (ahead <= 0) break;
      // Faster than one id per tick for longer than the burst allowance: wait rather than run further ahead, so
      // a successor process's starting point stays above every id this one issued.
      this.#sleep(ahead / TICKS_PER_MS);
    }
    writeTick(this.#state, tick);
    const second = Math.floor(tick / TICKS_PER_SECOND);
    const fraction = tick % TICKS_PER_SECOND;
    const id = (BigInt(second) << TIME_SHIFT) | (this.#nodeId << NODE_SHIFT) | (this.#worker << WORKER_SHIFT) | BigInt(fraction);
    return { text: id.toString(), lo: Number(id & 0xffff_ffffn) | 0, hi: Number(id >> 32n) | 0, key: tick };
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
