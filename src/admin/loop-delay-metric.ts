/**
 * `actorgate_worker_event_loop_delay_seconds{worker}`, read at scrape time from the buckets each worker keeps in its
 * shared counters (src/worker/loop-delay.ts).
 */
import type { Registry } from 'prom-client';
import { LOOP_DELAY_BOUNDS_SECONDS, LoopDelaySlot } from '../core/counters.ts';
import type { WorkerHandle } from '../supervisor/worker-handle.ts';
import { registerHistogramMetric } from './histogram-metric.ts';

export function registerLoopDelayMetric(registry: Registry, handles: readonly WorkerHandle[]): void {
  registerHistogramMetric(registry, {
    name: 'actorgate_worker_event_loop_delay_seconds',
    help:
      "How late each worker's event loop ran a timer due every 10 ms (perf_hooks.monitorEventLoopDelay): " +
      'what every session of the worker waited at that moment.',
    bounds: LOOP_DELAY_BOUNDS_SECONDS,
    series: () =>
      handles.map((h) => ({ labels: { worker: h.index }, slots: h.counters.worker, base: LoopDelaySlot.BASE })),
  });
}
