/**
 * Per-user message and byte rates, shared by every worker of the process: a user's sessions take from one pair of
 * buckets wherever they live. The buckets are GCRA cells (as in shared-rate.ts: one "theoretical arrival time" per
 * cell, moved with Atomics.compareExchange, no lock) in two count-min sketches of the admission memory keyed by the
 * user id, one for messages and one for bytes. A message costs 1 and its size; times are nanoseconds since the epoch,
 * so a byte can cost a fraction of a microsecond.
 *
 * A user's bucket is the emptier of its two cells: a user shares a cell with a heavy one only where the two collide
 * in both rows (about 1 in 2^28 pairs), and each cell runs at most one burst ahead of now, so even then the light user
 * is held back by no more than one burst's refill. The time is the caller's clock reading (epoch milliseconds from
 * `performance`), not a worker's coarse clock: two workers' coarse clocks can be a tick apart.
 */
import { AdmissionMemory, USER_BYTE_CELLS, USER_MESSAGE_CELLS } from './admission-memory.ts';

/** Rates per second and bucket sizes; a rate of 0 has no bucket. */
export interface UserRateSpec {
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  readonly bytesPerSecond: number;
  readonly byteBurst: number;
}

/** One bucket kind (messages or bytes): nanoseconds per unit and how far ahead of now a cell may run. */
interface Bucket {
  readonly base: number;
  readonly unitNs: number;
  /** What one unit costs, at least 1 ns: a message, or the smallest step of the byte bucket. */
  readonly unit: bigint;
  readonly tolerance: bigint;
}

function bucket(base: number, perSecond: number, burst: number): Bucket | undefined {
  if (perSecond === 0) return undefined;
  const unitNs = 1e9 / perSecond;
  return { base, unitNs, unit: BigInt(Math.max(1, Math.round(unitNs))), tolerance: BigInt(Math.round(unitNs * burst)) };
}

/** A user's two cells in each sketch (indices within a sketch), found once per user id. */
export interface UserCells {
  userId: string;
  cell0: number;
  cell1: number;
  /**
   * Epoch ms before which no message of this user can pass (set at a refusal): until then a refusal needs no shared
   * memory, so a flood is refused for the price of a clock read. A lower bound, so nothing that could pass is refused.
   */
  retryAtMs: number;
}

export class UserRates {
  readonly #memory: AdmissionMemory;
  readonly #cells: BigInt64Array;
  readonly #messages: Bucket | undefined;
  readonly #bytes: Bucket | undefined;

  constructor(buffer: SharedArrayBuffer, spec: UserRateSpec) {
    this.#memory = new AdmissionMemory(buffer);
    this.#cells = this.#memory.rates;
    this.#messages = bucket(USER_MESSAGE_CELLS, spec.messagesPerSecond, spec.messageBurst);
    this.#bytes = bucket(USER_BYTE_CELLS, spec.bytesPerSecond, spec.byteBurst);
  }

  /** `cells` set to `userId`'s (reusing the object: no allocation per user change). */
  locate(userId: string, cells: UserCells): void {
    this.#memory.cellsOf(userId);
    cells.userId = userId;
    cells.cell0 = this.#memory.cell0;
    cells.cell1 = this.#memory.cell1;
    cells.retryAtMs = 0;
  }

  /** Takes one message of `bytes` from the user's buckets at epoch time `nowMs`; false: over a rate, nothing taken. */
  take(cells: UserCells, bytes: number, nowMs: number): boolean {
    if (nowMs < cells.retryAtMs) return false;
    const now = BigInt(Math.round(nowMs * 1e6));
    const messages = this.#messages;
    const bytesBucket = this.#bytes;
    const byteCost = bytesBucket === undefined ? 0n : BigInt(Math.max(1, Math.round(bytesBucket.unitNs * bytes)));
    // Both buckets are asked before either moves, so a message one refuses takes nothing from the other.
    if (messages !== undefined && !this.#has(messages, cells, messages.unit, now)) return false;
    if (bytesBucket !== undefined && !this.#has(bytesBucket, cells, byteCost, now)) return false;
    if (messages !== undefined) this.#advance(messages, cells, messages.unit, now);
    if (bytesBucket !== undefined) this.#advance(bytesBucket, cells, byteCost, now);
    return true;
  }

  /** Whether the bucket holds `cost`; if not, notes when its smallest unit will be there. */
  #has(bucket: Bucket, cells: UserCells, cost: bigint, now: bigint): boolean {
    const a = Atomics.load(this.#cells, bucket.base + cells.cell0);
    const b = Atomics.load(this.#cells, bucket.base + cells.cell1);
    const emptier = a < b ? a : b;
    if ((emptier > now ? emptier : now) + cost - now <= bucket.tolerance) return true;
    cells.retryAtMs = Number(emptier + bucket.unit - bucket.tolerance) / 1e6;
    return false;
  }

  #advance(bucket: Bucket, cells: UserCells, cost: bigint, now: bigint): void {
    this.#move(bucket.base + cells.cell0, cost, now, now + bucket.tolerance);
    this.#move(bucket.base + cells.cell1, cost, now, now + bucket.tolerance);
  }

  #move(cell: number, cost: bigint, now: bigint, ceiling: bigint): void {
    const cellsArray = this.#cells;
    for (;;) {
      const tat = Atomics.load(cellsArray, cell);
      let next = (tat > now ? tat : now) + cost;
      if (next > ceiling) next = ceiling;
      if (Atomics.compareExchange(cellsArray, cell, tat, next) === tat) return;
    }
  }
}
