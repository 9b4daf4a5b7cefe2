/**
 * Fairness inside one backend: 100 sessions on one endpoint, one of them flooding it. The 99 quiet sessions send
 * open loop at a modest rate; the flooder, when it floods, keeps far more messages in flight than its share of a
 * stream actor's mailbox (backend.maxQueuedPerSession) can hold. The figure is the 99's p99 with the flood over
 * their p99 without it, runs alternating the order by round and pooled, as the isolation scenario does.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { LogHistogram, type HistogramJSON, type Percentiles } from '../lib/histogram.ts';
import { scrapeMetrics, sumOf, type MetricSample } from '../lib/prometheus.ts';
import { defaultBackend } from '../../src/core/options.ts';
import type { GroupResult } from './loadgen-thread.ts';
import type { Rig, Target } from './rig.ts';
import { figuresOf, TO_A, type RunFigures, type SuiteSettings } from './scenarios.ts';

export interface FairnessSettings {
  /** Sessions that keep sending at the quiet rate; one more session floods. */
  quietConnections: number;
  payloadBytes: number;
  /** The quiet sessions' total rate as a fraction of the target's closed-loop maximum at `payloadBytes`. */
  load: number;
  /** Messages the flooder keeps in flight (closed loop: every echo or refusal is answered with a new message). */
  floodWindow: number;
  /** actorgate's backend.mailboxCapacity and backend.maxQueuedPerSession in the run (the suite runs its defaults). */
  mailboxCapacity: number;
  sessionShare: number;
  /** Rounds of (without, with flood) runs, alternating the order. */
  rounds: number;
  warmupMs: number;
  measureMs: number;
  drainMs: number;
}

/**
 * The scenario's settings for a suite run. The flood's window is a whole mailbox (backend.mailboxCapacity), four
 * times the share of one session by default: more than the share holds even with nothing in flight anywhere else,
 * so actorgate must refuse part of it. The quiet load is the isolation scenario's, a tenth of the target's own
 * closed-loop maximum: open loop, a message costs several times what it costs in the closed loop's large batches, so
 * a quarter already kept actorgate's cores busy without any flood, and the ratio measured saturation, not the flood.
 */
export function fairnessSettings(s: SuiteSettings): FairnessSettings {
  return {
    quietConnections: 99,
    payloadBytes: s.latencyPayload,
    load: 0.1,
    floodWindow: defaultBackend.mailboxCapacity,
    mailboxCapacity: defaultBackend.mailboxCapacity,
    sessionShare: defaultBackend.maxQueuedPerSession,
    rounds: s.quick ? 1 : 2,
    warmupMs: s.warmupMs,
    measureMs: s.measureMs,
    drainMs: s.drainMs,
  };
}

/** What the flooding session did in the measured window. */
export interface FlooderFigures {
  sent: number;
  echoed: number;
  echoedInWindow: number;
  /** ERROR frames by code. */
  errors: Record<string, number>;
  clientBehind: number;
  unanswered: number;
}

/** actorgate's own refusal counters on the endpoint, differenced over a whole run (warm-up and drain included). */
export interface GatewayRefusals {
  /** actorgate_backend_session_share_rejected_total: refused at the session's share of the mailbox. */
  sessionShare: number;
  /** actorgate_backend_mailbox_rejected_total: refused because the whole mailbox was full. */
  mailboxFull: number;
  /** actorgate_client_messages_refused_total by reason (only reasons that moved). */
  byReason: Record<string, number>;
}

export interface FairnessRun extends RunFigures {
  /** The run's figures (RunFigures) are the 99 quiet sessions'. */
  flood: boolean;
  histogram: HistogramJSON;
  /** How late the client sent the quiet sessions' messages, µs after their due time. */
  sendLateness: Percentiles;
  flooder: FlooderFigures;
  /** actorgate only; null for a target without metrics. */
  gateway: GatewayRefusals | null;
  /** actorgate only: the most DATA packets one worker's mailbox for the endpoint has held since the target started. */
  mailboxPeak: number | null;
}

export interface PooledLatency {
  latency: Percentiles;
  histogram: HistogramJSON;
}

export interface FairnessResult {
  target: string;
  settings: FairnessSettings;
  /** The quiet sessions' total rate, msg/s. */
  quietRate: number;
  /** Load-generator threads holding the quiet sessions and the flooder (kept apart when there are two or more). */
  loadThreads: { quiet: number[]; flooder: number[] };
  /** Every measured run in the order it ran (the discarded first run is not here). */
  runs: FairnessRun[];
  calm: PooledLatency;
  flooded: PooledLatency;
  /** Pooled p99 of the 99 with the flood ÷ without. */
  ratio: number;
  /** The same ratio within each round. */
  roundRatios: number[];
}

/** Round `round`'s order of conditions (flood or not): alternating, so drift over time favours neither. */
export function roundOrder(round: number): [boolean, boolean] {
  return round % 2 === 0 ? [false, true] : [true, false];
}

/** The quiet sessions' latency over every run of one condition, merged. */
export function pooled(runs: readonly Pick<FairnessRun, 'flood' | 'histogram'>[], flood: boolean): PooledLatency {
  const h = new LogHistogram();
  for (const run of runs) if (run.flood === flood) h.merge(run.histogram);
  return { latency: h.percentiles(), histogram: h.toJSON() };
}

/**
 * The pooled ratio (p99 with flood ÷ without) and the ratio within each round; `runs` in the order they ran, two
 * per round. A round missing either condition gives NaN.
 */
export function floodRatios(runs: readonly Pick<FairnessRun, 'flood' | 'histogram'>[]): { calm: PooledLatency; flooded: PooledLatency; ratio: number; roundRatios: number[] } {
  const calm = pooled(runs, false);
  const flooded = pooled(runs, true);
  const roundRatios: number[] = [];
  for (let i = 0; i < runs.length; i += 2) {
    const pair = runs.slice(i, i + 2);
    const p99 = (flood: boolean) => {
      const run = pair.find((r) => r.flood === flood);
      return run === undefined ? Number.NaN : LogHistogram.from(run.histogram).percentiles().p99;
    };
    roundRatios.push(p99(true) / p99(false));
  }
  return { calm, flooded, ratio: flooded.latency.p99 / calm.latency.p99, roundRatios };
}

const REFUSAL_REASONS = ['session_overloaded', 'backend_overloaded'] as const;

async function refusalCounters(adminPort: number, endpoint: string): Promise<{ samples: MetricSample[]; refusals: GatewayRefusals }> {
  const samples = await scrapeMetrics(`http://127.0.0.1:${adminPort}/metrics`);
  const byReason: Record<string, number> = {};
  for (const reason of REFUSAL_REASONS) byReason[reason] = sumOf(samples, 'actorgate_client_messages_refused_total', { reason });
  return {
    samples,
    refusals: {
      sessionShare: sumOf(samples, 'actorgate_backend_session_share_rejected_total', { endpoint }),
      mailboxFull: sumOf(samples, 'actorgate_backend_mailbox_rejected_total', { endpoint }),
      byReason,
    },
  };
}

function difference(before: GatewayRefusals, after: GatewayRefusals): GatewayRefusals {
  const byReason: Record<string, number> = {};
  for (const [reason, n] of Object.entries(after.byReason)) {
    const moved = n - (before.byReason[reason] ?? 0);
    if (moved > 0) byReason[reason] = moved;
  }
  return { sessionShare: after.sessionShare - before.sessionShare, mailboxFull: after.mailboxFull - before.mailboxFull, byReason };
}

/** The most any worker's mailbox for `endpoint` has held (the gauge is per worker). */
function mailboxPeak(samples: readonly MetricSample[], endpoint: string): number {
  let peak = 0;
  for (const s of samples) if (s.name === 'actorgate_backend_mailbox_depth_peak' && s.labels.endpoint === endpoint && s.value > peak) peak = s.value;
  return peak;
}

function flooderOf(g: GroupResult): FlooderFigures {
  return { sent: g.sent, echoed: g.echoed, echoedInWindow: g.echoedInWindow, errors: g.errors, clientBehind: g.clientBehind, unanswered: g.unanswered };
}

/** Threads for the flooder and for the quiet sessions: apart, so the flood's echoes do not delay the quiet sends. */
function loadThreadsFor(threads: number): { quiet: number[]; flooder: number[] } {
  const all = Array.from({ length: threads }, (_, i) => i);
  return { flooder: [0], quiet: threads > 1 ? all.slice(1) : all };
}

/** Runs the scenario against the running `target` with the quiet sessions at `quietRate` msg/s in total. */
export async function fairness(rig: Rig, target: Target, settings: FairnessSettings, quietRate: number): Promise<FairnessResult> {
  const ready = rig.targetReady!;
  const endpoint = rig.backendReady.endpoints[0]!;
  const loadThreads = loadThreadsFor(rig.loadgenReady.threads);
  const answer = await rig.connect({
    groups: [
      { serverId: TO_A, count: settings.quietConnections, threads: loadThreads.quiet },
      { serverId: TO_A, count: 1, threads: loadThreads.flooder },
    ],
  });
  if (answer.failed > 0 || answer.opened[0] !== settings.quietConnections || answer.opened[1] !== 1) {
    throw new Error(`fairness: opened ${answer.opened.join(' + ')} connections, ${answer.failed} failed: ${answer.firstError}`);
  }
  const runOnce = async (flood: boolean): Promise<FairnessRun> => {
    const before = ready.adminPort === null ? null : await refusalCounters(ready.adminPort, endpoint);
    const m = await rig.measure({
      payloadBytes: settings.payloadBytes,
      warmupMs: settings.warmupMs,
      measureMs: settings.measureMs,
      drainMs: settings.drainMs,
      groups: [{ mode: 'open', rate: quietRate }, flood ? { mode: 'closed', window: settings.floodWindow } : { mode: 'idle' }],
    });
    const after = ready.adminPort === null ? null : await refusalCounters(ready.adminPort, endpoint);
    const [quiet, flooder] = m.groups as [GroupResult, GroupResult];
    const run: FairnessRun = {
      flood,
      histogram: quiet.latency,
      sendLateness: LogHistogram.from(quiet.sendLateness).percentiles(),
      flooder: flooderOf(flooder),
      gateway: before === null || after === null ? null : difference(before.refusals, after.refusals),
      mailboxPeak: after === null ? null : mailboxPeak(after.samples, endpoint),
      ...figuresOf(quiet, m.cpu, m.targetCpuUs, settings.measureMs),
    };
    process.stderr.write(
      `  ${target.key} fairness, ${flood ? 'with' : 'without'} flood: 99 at ${Math.round(run.rate)} msg/s, p50 ${(run.latency.p50 / 1000).toFixed(2)} ` +
        `p99 ${(run.latency.p99 / 1000).toFixed(2)} p99.9 ${(run.latency.p999 / 1000).toFixed(2)} ms, refused ${JSON.stringify(run.errors)}, unanswered ${run.unanswered}; ` +
        `flooder sent ${flooder.sent} echoed ${flooder.echoed} refused ${JSON.stringify(flooder.errors)}` +
        (run.gateway === null ? '' : `; gateway: share ${run.gateway.sessionShare}, mailbox full ${run.gateway.mailboxFull}, peak ${run.mailboxPeak}`) +
        `; target ${m.cpu.target.toFixed(2)} / client ${m.cpu.loadgen.toFixed(2)} / backend ${m.cpu.backend.toFixed(2)} cores\n`,
    );
    // What the flood left in sockets, grpc-js and the mailbox has been answered by the drain; let the loops settle.
    await sleep(500);
    return run;
  };
  // A discarded run first: a fresh process is still growing its heaps and compiling its hot paths.
  await runOnce(false);
  const runs: FairnessRun[] = [];
  for (let round = 0; round < settings.rounds; round++) for (const flood of roundOrder(round)) runs.push(await runOnce(flood));
  await rig.disconnect();
  return { target: target.key, settings, quietRate, loadThreads, runs, ...floodRatios(runs) };
}
