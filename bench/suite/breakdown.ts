/**
 * Where a light-load message's p99 goes inside actorgate: the gateway's own sampled stage histograms
 * (actorgate_stage_queue/write/delivery_seconds), each worker's event-loop delay and GC pauses, read from its /metrics
 * before and after a latency run and differenced, and the echo backend's own event-loop delay over the same run.
 */
import { LOOP_DELAY_BOUNDS_SECONDS, STAGE_BOUNDS_SECONDS } from '../../src/core/counters.ts';
import { histogramQuantile } from '../../src/core/histogram-slots.ts';
import { scrapeMetrics, type MetricSample } from '../lib/prometheus.ts';
import type { BackendLoopDelay } from './echo-backend-process.ts';

/** A histogram's figures over one run, from the difference of two scrapes. */
export interface WindowHistogram {
  count: number;
  /** Seconds summed over the samples. */
  sum: number;
  /** Interpolated within buckets, as PromQL's histogram_quantile; µs. */
  p50Us: number;
  p99Us: number;
  /** Share of the samples above 1 ms. */
  over1msShare: number;
}

export interface WorkerBreakdown {
  worker: string;
  loopDelay: WindowHistogram;
  /** GC pauses on the worker's thread (actorgate_worker_gc_seconds), when the gateway exports them. */
  gcMinor: WindowHistogram | null;
  gcMajor: WindowHistogram | null;
}

export interface Breakdown {
  /** Client in → mailbox out; batch written → grpc-js callback; backend packet in → client send. Summed over workers. */
  queue: WindowHistogram;
  write: WindowHistogram;
  delivery: WindowHistogram;
  workers: WorkerBreakdown[];
  backendLoopDelay: BackendLoopDelay;
}

/** The differenced histogram `name` over the samples whose labels include `labels`, summed over the rest. */
export function windowHistogram(
  before: readonly MetricSample[],
  after: readonly MetricSample[],
  name: string,
  bounds: readonly number[],
  labels: Record<string, string> = {},
): WindowHistogram {
  const total = (samples: readonly MetricSample[], metric: string, extra: Record<string, string> = {}) => {
    const want = { ...labels, ...extra };
    let sum = 0;
    for (const s of samples) if (s.name === metric && Object.entries(want).every(([k, v]) => s.labels[k] === v)) sum += s.value;
    return sum;
  };
  const delta = (metric: string, extra?: Record<string, string>) => total(after, metric, extra) - total(before, metric, extra);
  const count = delta(`${name}_count`);
  const cumulative = bounds.map((b) => delta(`${name}_bucket`, { le: String(b) }));
  const atOrBelow1ms = bounds.includes(0.001) ? cumulative[bounds.indexOf(0.001)]! : Number.NaN;
  const quantile = (q: number) => (count > 0 ? histogramQuantile(q, bounds, cumulative, count) * 1e6 : Number.NaN);
  return { count, sum: delta(`${name}_sum`), p50Us: quantile(0.5), p99Us: quantile(0.99), over1msShare: count > 0 ? 1 - atOrBelow1ms / count : Number.NaN };
}

/** The bounds actorgate_worker_gc_seconds is exported with, read from the scrape (its own `le` labels). */
function boundsOf(samples: readonly MetricSample[], name: string): number[] {
  const les = new Set<number>();
  for (const s of samples) if (s.name === `${name}_bucket` && s.labels.le !== '+Inf') les.add(Number(s.labels.le));
  return [...les].sort((a, b) => a - b);
}

export function breakdownOf(before: readonly MetricSample[], after: readonly MetricSample[], backendLoopDelay: BackendLoopDelay): Breakdown {
  const stage = (name: string) => windowHistogram(before, after, name, STAGE_BOUNDS_SECONDS);
  const workers = [...new Set(after.filter((s) => s.name === 'actorgate_worker_event_loop_delay_seconds_count').map((s) => s.labels.worker!))];
  const gcBounds = boundsOf(after, 'actorgate_worker_gc_seconds');
  const gc = (worker: string, kind: string) =>
    gcBounds.length === 0 ? null : windowHistogram(before, after, 'actorgate_worker_gc_seconds', gcBounds, { worker, kind });
  return {
    queue: stage('actorgate_stage_queue_seconds'),
    write: stage('actorgate_stage_write_seconds'),
    delivery: stage('actorgate_stage_delivery_seconds'),
    workers: workers.map((worker) => ({
      worker,
      loopDelay: windowHistogram(before, after, 'actorgate_worker_event_loop_delay_seconds', LOOP_DELAY_BOUNDS_SECONDS, { worker }),
      gcMinor: gc(worker, 'minor'),
      gcMajor: gc(worker, 'major'),
    })),
    backendLoopDelay,
  };
}

/** Brackets `run` with scrapes of the target's /metrics and the backend's loop delay, and differences them. */
export async function withBreakdown<T>(
  adminPort: number,
  backendLoopDelay: () => Promise<BackendLoopDelay>,
  run: () => Promise<T>,
): Promise<{ value: T; breakdown: Breakdown }> {
  const url = `http://127.0.0.1:${adminPort}/metrics`;
  await backendLoopDelay();
  const before = await scrapeMetrics(url);
  const value = await run();
  const after = await scrapeMetrics(url);
  return { value, breakdown: breakdownOf(before, after, await backendLoopDelay()) };
}
