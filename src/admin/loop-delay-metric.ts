/**
 * `actorgate_worker_event_loop_delay_seconds{worker}`, a Prometheus histogram read at scrape time from the buckets
 * each worker keeps in its shared counters (src/worker/loop-delay.ts). prom-client's Histogram only counts what it
 * observes itself, so this is a collector of its own that prom-client formats like any other metric.
 */
import type { Registry } from 'prom-client';
import { LOOP_DELAY_BOUNDS_SECONDS, LoopDelaySlot } from '../core/counters.ts';
import type { WorkerHandle } from '../supervisor/worker-handle.ts';

const NAME = 'actorgate_worker_event_loop_delay_seconds';

interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

export function registerLoopDelayMetric(registry: Registry, handles: readonly WorkerHandle[]): void {
  const metric = {
    name: NAME,
    help: "How late each worker's event loop ran a timer due every 10 ms (perf_hooks.monitorEventLoopDelay): what every session of the worker waited at that moment.",
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: Sample[] = [];
      for (const h of handles) {
        const slots = h.counters.worker;
        LOOP_DELAY_BOUNDS_SECONDS.forEach((le, i) => values.push({ metricName: `${NAME}_bucket`, labels: { worker: h.index, le }, value: slots[LoopDelaySlot.BUCKET_BASE + i]! }));
        values.push({ metricName: `${NAME}_bucket`, labels: { worker: h.index, le: '+Inf' }, value: slots[LoopDelaySlot.COUNT]! });
        values.push({ metricName: `${NAME}_sum`, labels: { worker: h.index }, value: slots[LoopDelaySlot.SUM]! });
        values.push({ metricName: `${NAME}_count`, labels: { worker: h.index }, value: slots[LoopDelaySlot.COUNT]! });
      }
      return { name: NAME, help: metric.help, type: metric.type, aggregator: metric.aggregator, values };
    },
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}
