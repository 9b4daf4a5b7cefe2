/**
 * Which counter slot (core/counters.ts, per-endpoint block) each endpoint of a dynamic route table writes. The slots
 * are allocated once, at start (`control.maxEndpoints`), in every worker's shared counter buffer, so a table change
 * never reallocates shared memory. An endpoint keeps its slot while it stays in the table; a slot freed by a removed
 * endpoint is reused only after `cooldownMs`, once the removed endpoint's actors (which flush, then close, within
 * `shutdown.flushTimeoutMs`) can no longer write it, and is zeroed by the supervisor before its new endpoint starts.
 */
export interface SlotAssignment {
  readonly slots: Record<string, number>;
  /** Slots given to a new endpoint after serving an old one: zero them before the table is sent. */
  readonly reused: readonly number[];
}

export class EndpointSlots {
  readonly capacity: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  #current = new Map<string, number>();
  /** Slots never used, lowest first. */
  #fresh: number[];
  /** Freed slots and when they were freed. */
  readonly #freed = new Map<number, number>();

  constructor(capacity: number, cooldownMs: number, now: () => number = () => performance.now()) {
    this.capacity = capacity;
    this.#cooldownMs = cooldownMs;
    this.#now = now;
    this.#fresh = Array.from({ length: capacity }, (_, i) => i);
  }

  /** Slots for the endpoints of a new table; undefined (nothing changed) when they do not fit. */
  assign(endpoints: readonly string[]): SlotAssignment | undefined {
    const now = this.#now();
    const wanted = new Set(endpoints);
    const added = [...wanted].filter((endpoint) => !this.#current.has(endpoint));
    const leaving = [...this.#current].filter(([endpoint]) => !wanted.has(endpoint));
    const cooled = [...this.#freed].filter(([, at]) => now - at >= this.#cooldownMs).map(([slot]) => slot);
    if (added.length > this.#fresh.length + cooled.length) return undefined;
    const next = new Map([...this.#current].filter(([endpoint]) => wanted.has(endpoint)));
    const reused: number[] = [];
    for (const endpoint of added) {
      let slot = this.#fresh.shift();
      if (slot === undefined) {
        slot = cooled.shift()!;
        this.#freed.delete(slot);
        reused.push(slot);
      }
      next.set(endpoint, slot);
    }
    for (const [, slot] of leaving) this.#freed.set(slot, now);
    this.#current = next;
    return { slots: Object.fromEntries(next), reused };
  }

  /** The endpoints of the table in force and their slots. */
  entries(): [string, number][] {
    return [...this.#current];
  }
}
