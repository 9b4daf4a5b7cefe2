/** The drain benchmark's figures (bench/drain/main.ts) and its section of BENCHMARKS.md. */
import { fmt, ms, table } from '../lib/markdown.ts';

export interface DrainRun {
  name: string;
  windowMs: number;
  sessions: number;
  /** Sessions that reconnected to B. */
  moved: number;
  failedAttempts: number;
  failures: Record<string, number>;
  /** Sessions A closed (DRAINED) before they left by themselves. */
  closedFirst: number;
  /** The last reconnect, ms after drain(). */
  lastReconnectMs: number;
  /** Reconnects per second at B, from 100 ms buckets: the highest bucket, and the 99th percentile of the buckets. */
  peakPerSecond: number;
  p99PerSecond: number;
  bucketsPer100ms: number[];
  /** B's established sessions' round trips during the drain, µs. */
  rttUs: { count: number; p50: number; p99: number; max: number };
  echoErrors: number;
}

const HEADERS = [
  'drain',
  'moved to B',
  'peak reconnects/s',
  'p99 reconnects/s',
  'last reconnect (s after drain)',
  'B echo p50 (ms)',
  'B echo p99 (ms)',
  'B echo max (ms)',
  'failed attempts',
  'closed by A first',
];

export interface SectionFacts {
  machine: string;
  command: string;
  sessions: number;
  echo: number;
  echoIntervalMs: number;
  workers: number;
}

export function renderSection(runs: readonly DrainRun[], facts: SectionFacts): string {
  const paced = runs.find((r) => r.windowMs > 0);
  const once = runs.find((r) => r.windowMs === 0);
  const rows = runs.map((r) => [
    r.windowMs === 0 ? 'all at once (window 0)' : `paced (window ${fmt(r.windowMs)} ms)`,
    `${fmt(r.moved)} / ${fmt(r.sessions)}`,
    fmt(r.peakPerSecond),
    fmt(r.p99PerSecond),
    (r.lastReconnectMs / 1000).toFixed(1),
    ms(r.rttUs.p50),
    ms(r.rttUs.p99),
    ms(r.rttUs.max),
    fmt(r.failedAttempts),
    fmt(r.closedFirst),
  ]);
  const times = (of: (r: DrainRun) => number) =>
    paced && once && of(paced) > 0 ? (of(once) / of(paced)).toFixed(1) : '–';
  const peakRatio = times((r) => r.peakPerSecond);
  const rttRatio = times((r) => r.rttUs.p99);
  return `## Drain: paced versus all at once

\`${facts.command}\` on ${facts.machine}. Gateway A (${facts.workers} workers, its own process) holds
${fmt(facts.sessions)} sessions from two load-generator processes and is drained; each session behaves as a client
library would: on DRAIN it waits the reconnectAfterMs it was told, then reconnects to gateway B (${facts.workers}
workers), or at once if A closes it first. B also holds ${fmt(facts.echo)} established sessions, each with one frame
in flight to an echo backend every ${facts.echoIntervalMs} ms. Reconnects are counted at B in 100 ms buckets; both
runs in the same invocation, fresh gateways for each.

${table(
    HEADERS,
    rows,
    ['left'],
  )}

All at once, B's peak reconnect rate is ${peakRatio}× the paced one, and its established sessions' p99 round trip
${rttRatio}× the paced run's. The "last reconnect" column counts from drain(): window 0 tells everyone 1,000 ms, and B then takes seconds
to work through the burst. "Closed by A first": sessions A closed with DRAINED (one tick after their time) before
their own timer moved them, a load generator running late; the machine is shared, so expect some spread between runs.

![Reconnects at B per 100 ms, paced versus all at once](bench/results/drain-reconnects.svg)
`;
}
