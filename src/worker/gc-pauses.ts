/**
 * A worker's garbage-collection pauses, for `actorgate_worker_gc_seconds{kind}`. V8 calls its GC prologue and epilogue
 * on this thread around each collection step it runs there, and Node turns each pair into a perf_hooks 'gc' entry
 * whose duration is the time between them: time the thread ran no JavaScript, so every session of the worker waited
 * as long. A PerformanceObserver takes the entries (Node delivers them in a batch on a later loop turn, not inside the
 * pause) and adds each to the minor or the major histogram in the worker's shared counters (counters.ts GcSlot,
 * histogram-slots.ts layout), so a scrape reads plain slots. Work done by V8's helper threads while JavaScript runs
 * (concurrent marking and sweeping) is in no entry: it costs CPU, not a wait.
 */
import { PerformanceObserver, constants, type NodeGCPerformanceDetail, type PerformanceEntry } from 'node:perf_hooks';
import { GC_BOUNDS_SECONDS, GcSlot } from '../core/counters.ts';
import { observe } from '../core/histogram-slots.ts';

/** The `kind` label of actorgate_worker_gc_seconds. */
export type GcKind = 'minor' | 'major';

/**
 * V8's kGCTypeMinorMarkCompact (1 << 1): a young-generation collection by marking instead of scavenging, run only
 * under V8's --minor-mc flag; perf_hooks has no constant for it.
 */
const V8_MINOR_MARK_COMPACT = 2;

/**
 * A 'gc' entry's `detail.kind` (perf_hooks.constants; the same as the deprecated `entry.kind`, DEP0152) as the label:
 * - minor: NODE_PERFORMANCE_GC_MINOR (1, a scavenge of the young generation), and V8's minor mark-compact (2);
 * - major: NODE_PERFORMANCE_GC_MAJOR (4, a full mark-sweep-compact's atomic pause), NODE_PERFORMANCE_GC_INCREMENTAL
 *   (8, a step of the old generation's incremental marking run on this thread), NODE_PERFORMANCE_GC_WEAKCB (16, weak
 *   callbacks run after a full collection), and any kind a later V8 adds: a pause of a kind not known here is still
 *   counted, as the larger kind.
 */
export function gcKindOf(kind: number): GcKind {
  return kind === constants.NODE_PERFORMANCE_GC_MINOR || kind === V8_MINOR_MARK_COMPACT ? 'minor' : 'major';
}

/** @types/node's PerformanceEntry lacks the `detail` Node gives a 'gc' entry. */
type GcEntry = PerformanceEntry & { readonly detail: NodeGCPerformanceDetail };

export class GcPauses {
  readonly #counters: Float64Array;
  #observer: PerformanceObserver | undefined;

  constructor(counters: Float64Array) {
    this.#counters = counters;
  }

  start(): void {
    if (this.#observer !== undefined) return;
    this.#observer = new PerformanceObserver((list) => this.#record(list.getEntries()));
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /**
   * Takes the entries Node queued but has not delivered into the counters and disconnects the observer (a pause that
   * ended in this very loop turn is queued only on the next, and is not counted). Idempotent.
   */
  stop(): void {
    const observer = this.#observer;
    if (observer === undefined) return;
    this.#observer = undefined;
    this.#record(observer.takeRecords());
    observer.disconnect();
  }

  #record(entries: PerformanceEntry[]): void {
    const counters = this.#counters;
    for (const entry of entries as GcEntry[]) {
      const base = gcKindOf(entry.detail.kind) === 'minor' ? GcSlot.MINOR : GcSlot.MAJOR;
      observe(counters, base, GC_BOUNDS_SECONDS, entry.duration / 1000);
    }
  }
}
