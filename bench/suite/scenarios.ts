/**
 * The suite's scenarios, each a function of the rig and a target that returns plain figures (no formatting):
 * round-trip throughput, open-loop latency at fixed rates, head-of-line isolation, and connection memory.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogHistogram, type HistogramJSON, type Percentiles } from '../lib/histogram.ts';
import { scrapeMetrics, sumOf } from '../lib/prometheus.ts';
import { tcpSockstat } from '../lib/sockstat.ts';
import { linearFit } from './push-scale-model.ts';
import { withBreakdown, type Breakdown } from './breakdown.ts';
import type { GroupResult } from './loadgen-thread.ts';
import { rssBytes, type CpuShares, type Rig, type Target } from './rig.ts';

/** serverId of a message to backend A (serverType 1) or B (serverType 2); worldId and instId 0. */
export const TO_A = 1 << 8;
export const TO_B = 2 << 8;

export interface SuiteSettings {
  quick: boolean;
  warmupMs: number;
  measureMs: number;
  drainMs: number;
  /** Connections in the throughput and latency scenarios. */
  connections: number;
  payloads: readonly number[];
  /** Messages in flight per connection in the closed loop, by payload size. */
  windowFor: (payloadBytes: number) => number;
  /** Payload of the latency and isolation scenarios. */
  latencyPayload: number;
  latencyFractions: readonly number[];
  memorySteps: readonly number[];
  /** Isolation scenario: connections to the healthy backend A and to the stalled backend B, and the payload. */
  holConnections: { a: number; b: number };
  holPayload: number;
  /** Rounds of (healthy, stalled) runs, alternating the order. */
  holRounds: number;
  /** A's rate as a fraction of the target's closed-loop maximum at holPayload; B gets a tenth of A's. */
  holLoad: number;
}

/** What every measured run reports. */
export interface RunFigures {
  /** Echoes per second over the measured window. */
  rate: number;
  /** Target CPU (all its threads) per echoed message, µs. */
  targetUsPerMessage: number;
  cpu: CpuShares;
  latency: Percentiles;
  /** Sent in the window but neither echoed nor refused by the end of the drain. */
  unanswered: number;
  /** ERROR frames by code. */
  errors: Record<string, number>;
  outOfOrder: number;
  clientBehind: number;
  /** The client, not the target, set the pace: its busiest thread was nearly a full core. */
  clientBound: boolean;
}

export interface ThroughputResult extends RunFigures {
  target: string;
  payloadBytes: number;
  window: number;
  connections: number;
}

export interface LatencyResult extends RunFigures {
  target: string;
  /** Fraction of the target's own maximum, or null for a run at actorgate's rate (referenceFraction). */
  fraction: number | null;
  /** A run at another target's rate: that fraction of actorgate's (2 workers) maximum. Absent in older results: 0.5. */
  referenceFraction?: number;
  requestedRate: number;
  histogram: HistogramJSON;
  /** How late the client sent (µs after the due time): the client's own share of the latency. */
  sendLateness: Percentiles;
  /** µs between a load thread's polls of its sockets: a reply is read (and timed) at most this late. */
  pollInterval: Percentiles;
  /** The most any load thread spent off its core (gaps ≥ 1 ms between its polls), share of the measured window. */
  loadgenStalledShare: number;
  /** How each load thread that sent was scheduled: `fifo` (native, SCHED_FIFO), `normal` (native), `node`. Absent in older results. */
  loadgenScheduling?: string[];
  /** actorgate: its stage histograms, loop delay and GC per worker, and backend A's loop delay over the run. */
  breakdown?: Breakdown;
}

export interface HolRun extends RunFigures {
  stalled: boolean;
  histogram: HistogramJSON;
  /** Messages to B refused with an ERROR frame, by code. */
  bErrors: Record<string, number>;
  bEchoed: number;
  bSent: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** actorgate only: packets queued for B at the end of the run, over both workers. */
  bMailboxDepth: number | null;
}

export interface HolResult {
  target: string;
  aRate: number;
  bRate: number;
  /** Every run in the order it ran: rounds alternate which condition goes first. */
  runs: HolRun[];
  /** A's latency over all runs of each condition, pooled. */
  healthy: { latency: Percentiles; histogram: HistogramJSON };
  stalled: { latency: Percentiles; histogram: HistogramJSON };
  /** Pooled p99 to A with B stalled ÷ pooled p99 with B healthy. */
  ratio: number;
  /** The same ratio within each round. */
  roundRatios: number[];
}

export interface MemoryResult {
  target: string;
  /** The target process's limit on open files (one per connection, plus its own). */
  openFilesLimit: number;
  /** At each step: RSS, and the kernel's TCP socket memory and sockets in use (/proc/net/sockstat, both ends). */
  points: { connections: number; rssBytes: number; kernelBytes?: number; tcpInuse?: number }[];
  /** RSS bytes per connection (memorySlope). */
  bytesPerConnection: number;
  /** The slope of sockstat's TCP memory over the same steps: kernel bytes per connection, both ends (loopback). */
  kernelBytesPerConnection?: number;
  failed: number;
  firstError?: string;
}

const CLIENT_BOUND_CORES = 0.9;

/** `measureMs`: the window the load threads counted over (the parent's CPU window is the same length, started a hop earlier). */
export function figuresOf(group: GroupResult, cpu: CpuShares, targetCpuUs: number, measureMs: number): RunFigures {
  const latency = LogHistogram.from(group.latency).percentiles();
  return {
    rate: group.echoedInWindow / (measureMs / 1000),
    targetUsPerMessage: group.echoedInWindow > 0 ? targetCpuUs / group.echoedInWindow : Number.NaN,
    cpu,
    latency,
    unanswered: group.unanswered,
    errors: group.errors,
    outOfOrder: group.outOfOrder,
    clientBehind: group.clientBehind,
    clientBound: cpu.loadgenBusiestThread >= CLIENT_BOUND_CORES,
  };
}

function progress(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

async function connectOrThrow(rig: Rig, groups: { serverId: number; count: number }[]): Promise<void> {
  const answer = await rig.connect({ groups });
  if (answer.failed > 0) throw new Error(`${answer.failed} connections failed: ${answer.firstError}`);
}

/** Closed loop at each payload size: the most round trips per second the target sustains. */
export async function throughput(rig: Rig, target: Target, s: SuiteSettings): Promise<ThroughputResult[]> {
  await connectOrThrow(rig, [{ serverId: TO_A, count: s.connections }]);
  const results: ThroughputResult[] = [];
  for (const payloadBytes of s.payloads) {
    const window = s.windowFor(payloadBytes);
    const m = await rig.measure({ payloadBytes, warmupMs: s.warmupMs, measureMs: s.measureMs, drainMs: s.drainMs, groups: [{ mode: 'closed', window }] });
    const result = { target: target.key, payloadBytes, window, connections: s.connections, ...figuresOf(m.groups[0]!, m.cpu, m.targetCpuUs, s.measureMs) };
    results.push(result);
    progress(
      `${target.key} ${payloadBytes} B: ${Math.round(result.rate)} msg/s, ${result.targetUsPerMessage.toFixed(2)} µs/msg, ` +
        `target ${m.cpu.target.toFixed(2)} / client ${m.cpu.loadgen.toFixed(2)} (busiest ${m.cpu.loadgenBusiestThread.toFixed(2)}) / backend ${m.cpu.backend.toFixed(2)} cores`,
    );
  }
  await rig.disconnect();
  return results;
}

/** Open loop at `rates`, each message stamped with its due time. */
export interface LatencyRate {
  fraction: number | null;
  rate: number;
  referenceFraction?: number;
}

export async function latency(rig: Rig, target: Target, s: SuiteSettings, rates: readonly LatencyRate[]): Promise<LatencyResult[]> {
  await connectOrThrow(rig, [{ serverId: TO_A, count: s.connections }]);
  const results: LatencyResult[] = [];
  const adminPort = target.kind === 'actorgate' ? rig.targetReady!.adminPort : null;
  for (const { fraction, rate, referenceFraction } of rates) {
    const run = () =>
      rig.measure({
        payloadBytes: s.latencyPayload,
        warmupMs: s.warmupMs,
        measureMs: s.measureMs,
        drainMs: s.drainMs,
        groups: [{ mode: 'open', rate }],
      });
    // The scrapes bracket warm-up and drain too: the stage histograms cannot be cut to the measured window.
    const { value: m, breakdown } = adminPort === null ? { value: await run(), breakdown: undefined } : await withBreakdown(adminPort, () => rig.backendLoopDelay(0), run);
    const group = m.groups[0]!;
    const result: LatencyResult = {
      target: target.key,
      fraction,
      ...(referenceFraction === undefined ? {} : { referenceFraction }),
      requestedRate: rate,
      histogram: group.latency,
      sendLateness: LogHistogram.from(group.sendLateness).percentiles(),
      pollInterval: LogHistogram.from(m.pollInterval).percentiles(),
      loadgenStalledShare: m.loadgenStalledShare,
      loadgenScheduling: m.loadgenScheduling,
      ...(breakdown === undefined ? {} : { breakdown }),
      ...figuresOf(group, m.cpu, m.targetCpuUs, s.measureMs),
    };
    results.push(result);
    progress(
      `${target.key} at ${fraction === null ? `actorgate's ${(referenceFraction ?? 0.5) * 100}%` : `${fraction * 100}%`} (${Math.round(rate)} msg/s): p50 ${(result.latency.p50 / 1000).toFixed(2)} ` +
        `p99 ${(result.latency.p99 / 1000).toFixed(2)} p99.9 ${(result.latency.p999 / 1000).toFixed(2)} ms, ${result.targetUsPerMessage.toFixed(2)} µs/msg, unanswered ${result.unanswered}; ` +
        `client late p50/p99/max ${result.sendLateness.p50}/${result.sendLateness.p99}/${result.sendLateness.max} µs, poll p99 ${result.pollInterval.p99} µs, ` +
        `client threads stalled ${(result.loadgenStalledShare * 100).toFixed(1)}% (${m.loadgenScheduling.join(', ')}), ` +
        `client ${m.cpu.loadgen.toFixed(2)} cores, steal ${m.cpu.steal.toFixed(2)}`,
    );
  }
  await rig.disconnect();
  return results;
}

/**
 * Waits until B's backlog has flowed out after a stall: actorgate's mailboxes for B are empty (then one more second
 * for what grpc-js and the sockets still hold); a target without metrics gets a fixed 3 s.
 */
async function drained(adminPort: number | null, endpoint: string): Promise<void> {
  if (adminPort === null) return void (await sleep(3000));
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline && ((await mailboxDepth(adminPort, endpoint)) ?? 0) > 0) await sleep(250);
  await sleep(1000);
}

async function mailboxDepth(adminPort: number | null, endpoint: string): Promise<number | null> {
  if (adminPort === null) return null;
  return sumOf(await scrapeMetrics(`http://127.0.0.1:${adminPort}/metrics`), 'actorgate_backend_mailbox_depth', { endpoint });
}

/**
 * Head-of-line isolation: traffic to A at `aRate` and to B at `bRate`, first with both backends reading, then with
 * B stalled (it stops reading its streams). The figure is A's p99 in the second run over the first.
 */
export async function isolation(rig: Rig, target: Target, s: SuiteSettings, aRate: number, bRate: number): Promise<HolResult> {
  const ready = rig.targetReady!;
  const bEndpoint = rig.backendReady.endpoints[1]!;
  await connectOrThrow(rig, [
    { serverId: TO_A, count: s.holConnections.a },
    { serverId: TO_B, count: s.holConnections.b },
  ]);
  const runOnce = async (stalled: boolean): Promise<HolRun> => {
    if (stalled) await rig.setStalled(1, true);
    const rssBeforeBytes = rssBytes(ready.pid);
    const m = await rig.measure({
      payloadBytes: s.holPayload,
      warmupMs: s.warmupMs,
      measureMs: s.measureMs,
      // Messages to a stalled B are never answered; do not wait for them.
      drainMs: stalled ? 500 : s.drainMs,
      groups: [
        { mode: 'open', rate: aRate },
        { mode: 'open', rate: bRate },
      ],
    });
    const rssAfterBytes = rssBytes(ready.pid);
    const bMailboxDepth = await mailboxDepth(ready.adminPort, bEndpoint);
    const [a, b] = m.groups as [GroupResult, GroupResult];
    const run: HolRun = {
      stalled,
      histogram: a.latency,
      bErrors: b.errors,
      bEchoed: b.echoed,
      bSent: b.sent,
      rssBeforeBytes,
      rssAfterBytes,
      bMailboxDepth,
      ...figuresOf(a, m.cpu, m.targetCpuUs, s.measureMs),
    };
    if (stalled) await rig.setStalled(1, false);
    progress(
      `${target.key} isolation, B ${stalled ? 'stalled' : 'healthy'}: A p99 ${(run.latency.p99 / 1000).toFixed(2)} ms, A unanswered ${run.unanswered}, ` +
        `B sent ${b.sent} echoed ${b.echoed} refused ${JSON.stringify(b.errors)}, RSS ${(rssBeforeBytes / 2 ** 20).toFixed(0)} → ${(rssAfterBytes / 2 ** 20).toFixed(0)} MiB` +
        (bMailboxDepth === null ? '' : `, B mailbox ${bMailboxDepth}`),
    );
    return run;
  };
  // A discarded healthy run first: a fresh process is still growing its heaps and compiling its hot paths.
  await runOnce(false);
  const runs: HolRun[] = [];
  const roundRatios: number[] = [];
  for (let round = 0; round < s.holRounds; round++) {
    // Alternate the order so that drift over time (heap growth, a neighbour's load) does not favour one condition.
    const order = round % 2 === 0 ? [false, true] : [true, false];
    const pair: HolRun[] = [];
    for (const stalled of order) {
      const run = await runOnce(stalled);
      pair.push(run);
      runs.push(run);
      // Let what queued for B while it was stalled flow out before the next run, so it does not load that one.
      if (stalled) await drained(ready.adminPort, bEndpoint);
    }
    const p99 = (stalled: boolean) => pair.find((r) => r.stalled === stalled)!.latency.p99;
    roundRatios.push(p99(true) / p99(false));
  }
  await rig.disconnect();
  const pooled = (stalled: boolean) => {
    const h = new LogHistogram();
    for (const run of runs) if (run.stalled === stalled) h.merge(run.histogram);
    return { latency: h.percentiles(), histogram: h.toJSON() };
  };
  const healthy = pooled(false);
  const stalled = pooled(true);
  return { target: target.key, aRate, bRate, runs, healthy, stalled, ratio: stalled.latency.p99 / healthy.latency.p99, roundRatios };
}

function openFilesLimit(pid: number): number {
  const match = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]);
}

/**
 * RSS once it has stopped moving: the last three readings, half a second apart, within 0.25 MiB of each other, after
 * at least `minMs` (at most `maxMs`). V8 gives memory back a few seconds after a burst of allocation (its memory
 * reducer), so a reading taken too soon counts garbage as connections.
 */
export async function settledRss(pid: number, minMs: number, maxMs: number): Promise<number> {
  const readings: number[] = [];
  const start = performance.now();
  for (;;) {
    await sleep(500);
    readings.push(rssBytes(pid));
    const last = readings.slice(-3);
    const elapsed = performance.now() - start;
    if (elapsed >= maxMs || (elapsed >= minMs && last.length === 3 && Math.max(...last) - Math.min(...last) <= 0.25 * 2 ** 20)) return readings.at(-1)!;
  }
}

/**
 * Idle connections in steps; RSS of the target after each step has settled. A first round of connections is opened
 * and closed before the baseline, so start-up garbage and first-use allocations are not counted per connection.
 */
export async function memory(rig: Rig, target: Target, s: SuiteSettings): Promise<MemoryResult> {
  const pid = rig.targetReady!.pid;
  const warm = await rig.connect({ groups: [{ serverId: TO_A, count: Math.min(1000, s.memorySteps.at(-1) ?? 1000) }], concurrency: 32 });
  if (warm.failed > 0) throw new Error(`${warm.failed} warm-up connections failed: ${warm.firstError}`);
  await rig.disconnect();
  const points: MemoryResult['points'] = [];
  let open = 0;
  let failed = 0;
  let firstError: string | undefined;
  for (const step of s.memorySteps) {
    if (step > open) {
      const answer = await rig.connect({ groups: [{ serverId: TO_A, count: step - open }], concurrency: 32 });
      open += answer.opened[0] ?? 0;
      failed += answer.failed;
      firstError ??= answer.firstError;
    }
    const first = points.length === 0;
    const rss = await settledRss(pid, first ? (s.quick ? 3000 : 6000) : 1500, first ? 20_000 : 10_000);
    const kernel = tcpSockstat();
    points.push({ connections: open, rssBytes: rss, kernelBytes: kernel.memBytes, tcpInuse: kernel.inuse });
    progress(`${target.key}: ${open} connections, RSS ${(rss / 2 ** 20).toFixed(1)} MiB, kernel TCP ${(kernel.memBytes / 2 ** 20).toFixed(1)} MiB in ${kernel.inuse} sockets`);
  }
  await rig.disconnect();
  const kernelBytesPerConnection = slope(points.filter((p) => p.connections > 0).map((p) => [p.connections, p.kernelBytes!]));
  return { target: target.key, openFilesLimit: openFilesLimit(pid), points, bytesPerConnection: memorySlope(points), kernelBytesPerConnection, failed, firstError };
}

/**
 * Bytes of RSS per connection: the least-squares slope over the steps with connections open. The empty baseline is
 * left out of the fit: V8 returns start-up memory to the system at a moment of its own choosing (seen here between
 * the baseline and the first step), which would make the slope negative.
 */
export function memorySlope(points: readonly { connections: number; rssBytes: number }[]): number {
  return slope(points.filter((p) => p.connections > 0).map((p) => [p.connections, p.rssBytes]));
}

/** Least-squares slope of y over x. */
export function slope(points: readonly (readonly [number, number])[]): number {
  return linearFit(points).slope;
}
