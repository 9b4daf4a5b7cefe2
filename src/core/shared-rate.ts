/**
 * Token buckets shared by every worker of the process, for upgrade rates: the process's bucket and one per address
 * (the sketch of admission-memory.ts). Each bucket is one BigInt64 cell in the GCRA form of a token bucket: the cell
 * holds the bucket's "theoretical arrival time" (ns since the epoch), the time at which it would be full again;
 * taking a token moves it one interval (1 s / rate) later, and a token is there while it stays within `burst`
 * intervals of now. One number per bucket is what lets Atomics.compareExchange update it without a lock.
 *
 * Time is `performance.timeOrigin + performance.now()`, which every thread of the process reads alike.
 */
import type { AdmissionMemory } from './admission-memory.ts';

/** One configured rate: tokens per second and the bucket's size. */
export interface RateSpec {
  readonly perSecond: number;
  readonly burst: number;
}

/** The rate in cell units: one interval per token, and how far ahead of now a bucket may run (burst intervals). */
export class SharedRate {
  readonly #cells: BigInt64Array;
  readonly #interval: bigint;
  readonly #tolerance: bigint;

  constructor(cells: BigInt64Array, spec: RateSpec) {
    this.#cells = cells;
    // Nanoseconds, so the interval is exact to 0.05 % up to 1,000,000 a second (microseconds were 11 % off at 300,000).
    this.#interval = BigInt(Math.max(1, Math.round(1e9 / spec.perSecond)));
    this.#tolerance = this.#interval * BigInt(spec.burst);
  }

  /** Takes a token from the bucket in `cell`, if it has one. Exact: one compare-and-swap loop. */
  take(cell: number, nowNs: bigint): boolean {
    const cells = this.#cells;
    for (;;) {
      const tat = Atomics.load(cells, cell);
      const next = (tat > nowNs ? tat : nowNs) + this.#interval;
      if (next - nowNs > this.#tolerance) return false;
      if (Atomics.compareExchange(cells, cell, tat, next) === tat) return true;
    }
  }

  /**
   * Takes a token from an address's two cells (count-min: the fuller of the two is the one another address shares).
   * The token is there when the emptier cell has one; both cells then move, each at most one burst ahead of now, so a
   * cell shared with a heavy address never locks out the other addresses for longer than one burst takes to refill.
   */
  takeEither(cell0: number, cell1: number, nowNs: bigint): boolean {
    const cells = this.#cells;
    const a = Atomics.load(cells, cell0);
    const b = Atomics.load(cells, cell1);
    const emptier = a < b ? a : b;
    if ((emptier > nowNs ? emptier : nowNs) + this.#interval - nowNs > this.#tolerance) return false;
    this.#advance(cell0, nowNs);
    this.#advance(cell1, nowNs);
    return true;
  }

  #advance(cell: number, nowNs: bigint): void {
    const cells = this.#cells;
    const ceiling = nowNs + this.#tolerance;
    for (;;) {
      const tat = Atomics.load(cells, cell);
      let next = (tat > nowNs ? tat : nowNs) + this.#interval;
      if (next > ceiling) next = ceiling;
      if (Atomics.compareExchange(cells, cell, tat, next) === tat) return;
    }
  }
}

/** Epoch milliseconds as the cells' nanoseconds (a double carries them to 256 ns, which only jitters single stamps). */
function epochNs(nowMs: number): bigint {
  return BigInt(Math.floor(nowMs * 1e6));
}

/** The process's upgrade buckets as one worker uses them: `undefined` where the rate is off (0). */
export class UpgradeRates {
  readonly #memory: AdmissionMemory;
  readonly #process: SharedRate | undefined;
  readonly #perAddress: SharedRate | undefined;

  constructor(memory: AdmissionMemory, process: RateSpec, perAddress: RateSpec) {
    this.#memory = memory;
    this.#process = process.perSecond > 0 ? new SharedRate(memory.rates, process) : undefined;
    this.#perAddress = perAddress.perSecond > 0 ? new SharedRate(memory.rates, perAddress) : undefined;
  }

  /** Takes `key`'s token (false: over its rate); `nowMs` is epoch milliseconds. */
  takeAddress(key: string, nowMs: number): boolean {
    if (this.#perAddress === undefined) return true;
    const memory = this.#memory;
    memory.cellsOf(key);
    // Rate cells start after the process's own cell 0.
    return this.#perAddress.takeEither(1 + memory.cell0, 1 + memory.cell1, epochNs(nowMs));
  }

  /** Takes one of the process's tokens (false: the process is over its rate). */
  takeProcess(nowMs: number): boolean {
    return this.#process === undefined || this.#process.take(0, epochNs(nowMs));
  }
}
