/**
 * One worker's view of the process's connection counts (admission-memory.ts): it counts its own sessions per address
 * in its own region, and reads every region to decide. Check and count are two steps, so workers admitting at the
 * same instant can each pass the last free place: a limit may be passed by at most one connection per other worker,
 * the price of taking no lock on the upgrade path.
 */
import { CELLS_PER_WORKER, type AdmissionMemory } from './admission-memory.ts';

export class ConnectionSketch {
  readonly #memory: AdmissionMemory;
  readonly #worker: number;
  readonly #own: number;

  constructor(memory: AdmissionMemory, worker: number) {
    this.#memory = memory;
    this.#worker = worker;
    this.#own = worker * CELLS_PER_WORKER;
  }

  /** Connections the whole process holds. */
  total(): number {
    const totals = this.#memory.totals;
    let sum = 0;
    for (let w = 0; w < totals.length; w++) sum += Atomics.load(totals, w);
    return sum;
  }

  /** Connections `key` holds across the process (an overestimate only when it collides in both rows). */
  count(key: string): number {
    const memory = this.#memory;
    memory.cellsOf(key);
    const sketches = memory.sketches;
    let row0 = 0;
    let row1 = 0;
    for (let base = 0; base < sketches.length; base += CELLS_PER_WORKER) {
      row0 += Atomics.load(sketches, base + memory.cell0);
      row1 += Atomics.load(sketches, base + memory.cell1);
    }
    return Math.min(row0, row1);
  }

  /** A session of `key` opened on this worker; `perKey` false counts only the total (the per-IP limit is off). */
  opened(key: string, perKey: boolean): void {
    this.#add(key, perKey, 1);
  }

  closed(key: string, perKey: boolean): void {
    this.#add(key, perKey, -1);
  }

  #add(key: string, perKey: boolean, delta: number): void {
    const memory = this.#memory;
    Atomics.add(memory.totals, this.#worker, delta);
    if (!perKey) return;
    memory.cellsOf(key);
    Atomics.add(memory.sketches, this.#own + memory.cell0, delta);
    Atomics.add(memory.sketches, this.#own + memory.cell1, delta);
  }
}
