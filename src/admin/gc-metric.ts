/**
 * `actorgate_worker_gc_seconds{worker, kind}`, read at scrape time from the two histograms each worker keeps in its
 * shared counters (src/worker/gc-pauses.ts says which V8 collections are minor and which major).
 */
import type { Registry } from 'prom-client';
import { GC_BOUNDS_SECONDS, GcSlot } from '../core/counters.ts';
import type { WorkerHandle } from '../supervisor/worker-handle.ts';
import type { GcKind } from '../worker/gc-pauses.ts';
import { registerHistogramMetric } from './histogram-metric.ts';

const KINDS: readonly (readonly [GcKind, number])[] = [
  ['minor', GcSlot.MINOR],
  ['major', GcSlot.MAJOR],
];

export function registerGcMetric(registry: Registry, handles: readonly WorkerHandle[]): void {
  registerHistogramMetric(registry, {
    name: 'actorgate_worker_gc_seconds',
    help:
      "Garbage-collection pauses on each worker's thread (perf_hooks 'gc' entries), by kind: minor (scavenges) or " +
      'major (mark-sweep-compact, incremental marking, weak callbacks). Every session of the worker waited as long.',
    bounds: GC_BOUNDS_SECONDS,
    series: () =>
      handles.flatMap((h) =>
        KINDS.map(([kind, base]) => ({ labels: { worker: h.index, kind }, slots: h.counters.worker, base })),
      ),
  });
}
