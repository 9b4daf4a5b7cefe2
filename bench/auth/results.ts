/**
 * What one measured window of the authentication benchmark holds, and how windows of the same step (placement,
 * algorithm, connectors) from several rounds are pooled: counts and CPU time add, histograms merge, and the event-loop
 * delay histogram's cumulative buckets (the gateway's own metric, differenced over the window) add bucket by bucket.
 */
import { LOOP_DELAY_BOUNDS_SECONDS } from '../../src/core/counters.ts';
import { LogHistogram, type HistogramJSON } from '../lib/histogram.ts';
import type { MetricSample } from '../lib/prometheus.ts';
import type { Algorithm } from './tokens.ts';

export type VerifyOn = 'pool' | 'worker';

/** One measured window. `alg` null: at rest (no storm). */
export interface Window {
  placement: VerifyOn;
  round: number;
  alg: Algorithm | null;
  connectors: number;
  elapsedMs: number;
  upgraded: number;
  refused: Record<string, number>;
  failed: number;
  /** Storm: connect() to the 101, µs. */
  upgradeLatency: HistogramJSON;
  /** Established sessions: due time to echo, µs. */
  sessionLatency: HistogramJSON;
  sessionsSent: number;
  sessionsBehind: number;
  /** ERROR frames the sessions got, by code. */
  sessionErrors: Record<string, number>;
  sessionsClosed: number;
  /** Event-loop delay samples per bucket (cumulative, LOOP_DELAY_BOUNDS_SECONDS then +Inf), all workers. */
  loopDelay: number[];
  /** The same, per worker. */
  loopDelayByWorker: number[][];
  /** CPU time over the window, µs: the gateway process (all threads), the storm, the sessions, the echo backend, the machine's busy time. */
  cpuUs: Cpu;
}

export interface Cpu {
  gateway: number;
  storm: number;
  sessions: number;
  echo: number;
  machineBusy: number;
}

/** The loop delay buckets of every worker in a scrape: per worker, cumulative counts per bound then +Inf. */
export function loopDelayBuckets(samples: readonly MetricSample[]): Map<string, number[]> {
  const byWorker = new Map<string, number[]>();
  for (const s of samples) {
    if (s.name !== 'actorgate_worker_event_loop_delay_seconds_bucket') continue;
    const worker = s.labels.worker!;
    const counts = byWorker.get(worker) ?? new Array<number>(LOOP_DELAY_BOUNDS_SECONDS.length + 1).fill(0);
    const le = s.labels.le!;
    const i = le === '+Inf' ? LOOP_DELAY_BOUNDS_SECONDS.length : LOOP_DELAY_BOUNDS_SECONDS.findIndex((b) => Number(le) === b);
    if (i >= 0) counts[i] = s.value;
    byWorker.set(worker, counts);
  }
  return byWorker;
}

/**
 * The `q` quantile (0–1) of a cumulative bucket histogram, in µs, interpolated linearly inside its bucket as
 * Prometheus's histogram_quantile does; Infinity when it falls in +Inf, NaN when empty.
 */
export function bucketQuantileUs(cumulative: readonly number[], q: number): number {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  for (let i = 0; i < LOOP_DELAY_BOUNDS_SECONDS.length; i++) {
    if (cumulative[i]! >= rank) {
      const lower = i === 0 ? 0 : LOOP_DELAY_BOUNDS_SECONDS[i - 1]!;
      const below = i === 0 ? 0 : cumulative[i - 1]!;
      const inBucket = cumulative[i]! - below;
      const fraction = inBucket === 0 ? 1 : (rank - below) / inBucket;
      return (lower + (LOOP_DELAY_BOUNDS_SECONDS[i]! - lower) * fraction) * 1e6;
    }
  }
  return Number.POSITIVE_INFINITY;
}

/** Windows of one step pooled over rounds. */
export interface Pooled {
  placement: VerifyOn;
  alg: Algorithm | null;
  connectors: number;
  rounds: number;
  seconds: number;
  upgradesPerSecond: number;
  refused: Record<string, number>;
  refusedPerSecond: number;
  failed: number;
  upgradeLatency: HistogramJSON;
  sessionLatency: HistogramJSON;
  sessionsBehind: number;
  sessionErrors: Record<string, number>;
  sessionsClosed: number;
  loopDelay: number[];
  /** The worst worker's p99, µs. */
  worstWorkerLoopDelayP99Us: number;
  /** Cores busy over the windows; `other` is the machine's busy time that none of the benchmark's processes used. */
  cores: Cpu & { other: number };
}

export function pool(windows: readonly Window[]): Pooled {
  const first = windows[0]!;
  const seconds = windows.reduce((s, w) => s + w.elapsedMs, 0) / 1000;
  const sumRecords = (records: readonly Record<string, number>[]) => {
    const out: Record<string, number> = {};
    for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const refused = sumRecords(windows.map((w) => w.refused));
  const add = (arrays: readonly (readonly number[])[]) => arrays.reduce<number[]>((sum, a) => sum.map((v, i) => v + (a[i] ?? 0)), new Array<number>(LOOP_DELAY_BOUNDS_SECONDS.length + 1).fill(0));
  const workers = Math.max(...windows.map((w) => w.loopDelayByWorker.length));
  const byWorker = Array.from({ length: workers }, (_, i) => add(windows.map((w) => w.loopDelayByWorker[i] ?? [])));
  const merge = (pick: (w: Window) => HistogramJSON) => windows.reduce((h, w) => h.merge(pick(w)), new LogHistogram()).toJSON();
  const cpu = (pick: (w: Window) => number) => windows.reduce((s, w) => s + pick(w), 0) / (seconds * 1e6);
  const upgraded = windows.reduce((s, w) => s + w.upgraded, 0);
  return {
    placement: first.placement,
    alg: first.alg,
    connectors: first.connectors,
    rounds: windows.length,
    seconds,
    upgradesPerSecond: upgraded / seconds,
    refused,
    refusedPerSecond: Object.values(refused).reduce((a, b) => a + b, 0) / seconds,
    failed: windows.reduce((s, w) => s + w.failed, 0),
    upgradeLatency: merge((w) => w.upgradeLatency),
    sessionLatency: merge((w) => w.sessionLatency),
    sessionsBehind: windows.reduce((s, w) => s + w.sessionsBehind, 0),
    sessionErrors: sumRecords(windows.map((w) => w.sessionErrors)),
    sessionsClosed: Math.max(...windows.map((w) => w.sessionsClosed)),
    loopDelay: add(windows.map((w) => w.loopDelay)),
    worstWorkerLoopDelayP99Us: Math.max(...byWorker.map((b) => bucketQuantileUs(b, 0.99)).filter((v) => !Number.isNaN(v))),
    cores: {
      gateway: cpu((w) => w.cpuUs.gateway),
      storm: cpu((w) => w.cpuUs.storm),
      sessions: cpu((w) => w.cpuUs.sessions),
      echo: cpu((w) => w.cpuUs.echo),
      machineBusy: cpu((w) => w.cpuUs.machineBusy),
      other: cpu((w) => Math.max(0, w.cpuUs.machineBusy - w.cpuUs.gateway - w.cpuUs.storm - w.cpuUs.sessions - w.cpuUs.echo)),
    },
  };
}
