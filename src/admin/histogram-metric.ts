/**
 * A Prometheus histogram read at scrape time from buckets the workers keep in their shared counters
 * (core/histogram-slots.ts layout). prom-client's Histogram only counts what it observes itself, so this is a collector
 * of its own that prom-client formats like any other metric. The event-loop delay and stage histograms use it.
 */
import type { Registry } from 'prom-client';
import { readHistogram } from '../core/histogram-slots.ts';

/** One labelled histogram: the slots holding it and where it starts. */
export interface HistogramSeries {
  labels: Record<string, string | number>;
  slots: Float64Array;
  base: number;
}

export interface HistogramMetric {
  name: string;
  help: string;
  /** Upper bounds in seconds, as the slots were counted with. */
  bounds: readonly number[];
  /** The series in force at this scrape (workers, endpoints). */
  series(): Iterable<HistogramSeries>;
}

interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

export function registerHistogramMetric(registry: Registry, { name, help, bounds, series }: HistogramMetric): void {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: Sample[] = [];
      for (const { labels, slots, base } of series()) {
        const { count, sum, cumulative } = readHistogram(slots, base, bounds);
        for (let i = 0; i < bounds.length; i++) {
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: bounds[i]! }, value: cumulative[i]! });
        }
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
        values.push({ metricName: `${name}_sum`, labels, value: sum });
        values.push({ metricName: `${name}_count`, labels, value: count });
      }
      return { name, help, type: metric.type, aggregator: metric.aggregator, values };
    },
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}
