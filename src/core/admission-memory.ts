/**
 * The process's shared memory for admission: how many connections each client address holds and how fast addresses
 * (and the process) open them, across all workers. The supervisor owns the buffer and passes it to every worker in
 * `WorkerInit` (as it does the counters), so it outlives a worker restart; the supervisor zeroes a worker's own region
 * when its thread ends, since that thread's sessions ended with it.
 *
 * Per-address state is a count-min sketch: each address hashes (with per-process random seeds, so nobody can aim at
 * another's cells) to one cell in each of two rows of Int32 (or BigInt64) cells, updated with Atomics; an address's
 * figure is the smaller of its two cells. Memory is fixed whatever the number of addresses and no lock is taken. A
 * collision only ever overcounts: an address's figure includes the connections of the addresses that share both its
 * cells, which with N addresses connected is about N / 16384 light neighbours per row (a few connections off a
 * limit of hundreds), and a heavy address eats another's budget only when the two collide in both rows (1 in 2^28).
 *
 * Per-user message rates (user-rate.ts) use two more sketches of BigInt64 cells keyed by user id, one for messages,
 * one for bytes; their pages stay untouched, so cost no memory, while those rates are off.
 *
 * Layout: Int32 seeds (2) and padding · BigInt64 rate cells: the process's upgrade cell, ROWS × WIDTH per-address
 * upgrade cells, ROWS × WIDTH per-user message cells, ROWS × WIDTH per-user byte cells ·
 * Int32 connection totals, one per worker · Int32 connection sketches, ROWS × WIDTH per worker (each written only by
 * its worker, summed by readers).
 */
import { randomInt } from 'node:crypto';

export const SKETCH_ROWS = 2;
/** Cells per row; a power of two. 128 KiB per worker for the connection sketch. */
export const SKETCH_WIDTH = 16384;
const SKETCH_CELLS = SKETCH_ROWS * SKETCH_WIDTH;

const RATE_OFFSET = 8;
/** Within the rate cells: the process's upgrade cell, the per-address upgrade sketch, then per-user message and byte sketches. */
export const USER_MESSAGE_CELLS = 1 + SKETCH_CELLS;
export const USER_BYTE_CELLS = USER_MESSAGE_CELLS + SKETCH_CELLS;
const RATE_CELLS = USER_BYTE_CELLS + SKETCH_CELLS;
const TOTALS_OFFSET = RATE_OFFSET + RATE_CELLS * BigInt64Array.BYTES_PER_ELEMENT;

function bytesFor(workers: number): number {
  return TOTALS_OFFSET + workers * Int32Array.BYTES_PER_ELEMENT * (1 + SKETCH_CELLS);
}

/** A fresh buffer for `workers` worker slots, with its hash seeds drawn. */
export function createAdmissionBuffer(workers: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(bytesFor(workers));
  const seeds = new Int32Array(buffer, 0, 2);
  seeds[0] = randomInt(0, 2 ** 31);
  seeds[1] = randomInt(0, 2 ** 31);
  return buffer;
}

/** FNV-1a over the key's UTF-16 units from a seed, then murmur3's finalizer so nearby addresses spread over the row. */
function hash(key: string, seed: number): number {
  let h = (seed ^ 0x811c9dc5) | 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Views of the shared buffer; each thread makes its own. */
export class AdmissionMemory {
  readonly workers: number;
  /** Rate cells (theoretical arrival times): [0] the process's upgrades, the per-address sketch (µs), the per-user sketches (ns). */
  readonly rates: BigInt64Array;
  /** Connections each worker holds. */
  readonly totals: Int32Array;
  /** Every worker's connection sketch, one after the other. */
  readonly sketches: Int32Array;
  readonly #seeds: Int32Array;
  /** The cells of the last key hashed (cellsOf), one per row: no array per call. */
  cell0 = 0;
  cell1 = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.workers = (buffer.byteLength - TOTALS_OFFSET) / (Int32Array.BYTES_PER_ELEMENT * (1 + SKETCH_CELLS));
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new RangeError('not an admission buffer');
    this.#seeds = new Int32Array(buffer, 0, 2);
    this.rates = new BigInt64Array(buffer, RATE_OFFSET, RATE_CELLS);
    this.totals = new Int32Array(buffer, TOTALS_OFFSET, this.workers);
    this.sketches = new Int32Array(buffer, TOTALS_OFFSET + this.workers * Int32Array.BYTES_PER_ELEMENT, this.workers * SKETCH_CELLS);
  }

  /** Sets cell0 and cell1 to `key`'s cell in row 0 and row 1 (indices within one sketch). */
  cellsOf(key: string): void {
    this.cell0 = hash(key, this.#seeds[0]!) & (SKETCH_WIDTH - 1);
    this.cell1 = SKETCH_WIDTH + (hash(key, this.#seeds[1]!) & (SKETCH_WIDTH - 1));
  }

  /** Forgets what a worker slot held: its thread ended, and its sessions with it. Only while no thread runs in the slot. */
  resetWorker(index: number): void {
    Atomics.store(this.totals, index, 0);
    this.sketches.fill(0, index * SKETCH_CELLS, (index + 1) * SKETCH_CELLS);
  }
}

export const CELLS_PER_WORKER = SKETCH_CELLS;
