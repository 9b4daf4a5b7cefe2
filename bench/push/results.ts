/** The shape of bench/results/push.json, and the arithmetic that turns measured totals into reported figures. */
import { LogHistogram, type HistogramJSON, type Percentiles } from '../lib/histogram.ts';
import type { MachineFacts } from '../lib/machine.ts';
import type { Transport } from './publishers.ts';

export type ScenarioKey = 'fixed-rate' | 'max-1' | 'max-batch';

export interface Scenario {
  key: ScenarioKey;
  label: string;
  mode: 'fixed' | 'max';
  pushesPerCall: number;
  /** The first round's order; rounds alternate it (A B, B A, …) so drift on a shared machine favours neither side. */
  order: Transport[];
}

/**
 * What one run measured, as sums, so that rounds add up. The CPU window runs from the first measured send until the
 * last measured push has reached every receiver; `deliveries` counts everything the receivers got in that window.
 */
export interface Totals {
  /** Measured part: from its first send to the end of sending. */
  sendSeconds: number;
  /** Pushes of the measured part that the gateway accepted. */
  pushesAccepted: number;
  /** The CPU window. */
  windowSeconds: number;
  deliveries: number;
  gatewayUs: number;
  gatewayMainThreadUs: number;
  receiversUs: number;
  publisherUs: number;
  machineBusyUs: number;
  machineStealUs: number;
  /** Deliveries of the measured pushes: due (accepted × sessions), arrived, missing. */
  expected: number;
  received: number;
  lost: number;
  /** From the gateway's answers (whole run, warm-up included) and its /metrics counters. */
  dropped: number;
  failedCalls: number;
  overloaded: number;
  clientSendDropped: number;
  slowConsumerCloses: number;
}

export interface Figures {
  pushesPerSecond: number;
  deliveriesPerSecond: number;
  gatewayUsPerPush: number;
  gatewayUsPerDelivery: number;
  /** Cores kept busy over the window (1 = one core). */
  gatewayCores: number;
  /** The supervisor thread: push ingress (gRPC/HTTP), routing, the admin server. */
  gatewayMainThreadCores: number;
  /** Every other thread: the workers (uWS fan-out), V8's GC and compiler helpers, libuv. */
  gatewayOtherThreadsCores: number;
  receiversCores: number;
  receiversUsPerDelivery: number;
  publisherCores: number;
  publisherUsPerPush: number;
  machineBusyCores: number;
  machineStealCores: number;
  /** Machine busy time the three benchmark processes do not account for: other load on the machine. */
  otherCores: number;
  /** Delivery latency of the measured pushes, µs: arrival at the receiver minus the push's stamp. */
  latencyUs: Percentiles;
}

export interface RoundResult {
  scenario: ScenarioKey;
  transport: Transport;
  round: number;
  totals: Totals;
  latency: HistogramJSON;
  figures: Figures;
  /** The gateway's busiest threads other than the main one, in cores. */
  gatewayTopThreads: { tid: number; cores: number }[];
  receiverSessionsOpen: number;
}

/** One side of one scenario, over all its rounds. */
export interface SideResult {
  scenario: ScenarioKey;
  transport: Transport;
  mode: 'fixed' | 'max';
  pushesPerCall: number;
  rounds: number;
  totals: Totals;
  figures: Figures;
}

export interface Comparison {
  scenario: ScenarioKey;
  label: string;
  /** gRPC ÷ REST over all rounds. */
  pushesPerSecond: number;
  deliveriesPerSecond: number;
  gatewayCpuPerPush: number;
  /** (1 − gRPC/REST) × 100: how much less gateway CPU per push gRPC used. */
  gatewayCpuSavingPercent: number;
  p99: number;
  /** The same ratios round by round, to show how much they move on this machine. */
  perRound: { pushesPerSecond: number[]; gatewayCpuPerPush: number[] };
}

export interface PushBenchResult {
  benchmark: 'push';
  command: string;
  machine: MachineFacts;
  options: Record<string, number | boolean | string>;
  setup: { gatewayWorkers: number; sessions: number; sessionsPerWorker: number[]; payloadBytes: number; restConnections: number; grpcWindow: number };
  /** Gateway CPU with every session open and no pushes, over one second. */
  idleGatewayCores: number;
  scenarios: Scenario[];
  sides: SideResult[];
  comparisons: Comparison[];
  rounds: RoundResult[];
  durationSeconds: number;
}

export function figuresOf(t: Totals, latency: LogHistogram, sessions: number): Figures {
  const cores = (us: number) => us / 1e6 / t.windowSeconds;
  const pushesInWindow = t.deliveries / sessions;
  return {
    pushesPerSecond: t.pushesAccepted / t.sendSeconds,
    deliveriesPerSecond: t.deliveries / t.windowSeconds,
    gatewayUsPerPush: t.gatewayUs / pushesInWindow,
    gatewayUsPerDelivery: t.gatewayUs / t.deliveries,
    gatewayCores: cores(t.gatewayUs),
    gatewayMainThreadCores: cores(t.gatewayMainThreadUs),
    gatewayOtherThreadsCores: cores(t.gatewayUs - t.gatewayMainThreadUs),
    receiversCores: cores(t.receiversUs),
    receiversUsPerDelivery: t.receiversUs / t.deliveries,
    publisherCores: cores(t.publisherUs),
    publisherUsPerPush: t.publisherUs / pushesInWindow,
    machineBusyCores: cores(t.machineBusyUs),
    machineStealCores: cores(t.machineStealUs),
    otherCores: cores(t.machineBusyUs - t.gatewayUs - t.receiversUs - t.publisherUs),
    latencyUs: latency.percentiles(),
  };
}

export function addTotals(a: Totals, b: Totals): Totals {
  const sum = { ...a };
  for (const key of Object.keys(b) as (keyof Totals)[]) sum[key] += b[key];
  return sum;
}

export function sideOf(scenario: Scenario, transport: Transport, rounds: RoundResult[], sessions: number): SideResult {
  const mine = rounds.filter((r) => r.scenario === scenario.key && r.transport === transport);
  const totals = mine.map((r) => r.totals).reduce(addTotals);
  const latency = new LogHistogram();
  for (const r of mine) latency.merge(r.latency);
  return { scenario: scenario.key, transport, mode: scenario.mode, pushesPerCall: scenario.pushesPerCall, rounds: mine.length, totals, figures: figuresOf(totals, latency, sessions) };
}

export function compare(scenario: Scenario, sides: SideResult[], rounds: RoundResult[]): Comparison | undefined {
  const grpc = sides.find((s) => s.scenario === scenario.key && s.transport === 'grpc');
  const rest = sides.find((s) => s.scenario === scenario.key && s.transport === 'rest');
  if (grpc === undefined || rest === undefined) return undefined;
  const cpu = grpc.figures.gatewayUsPerPush / rest.figures.gatewayUsPerPush;
  const perRound: Comparison['perRound'] = { pushesPerSecond: [], gatewayCpuPerPush: [] };
  for (let i = 0; ; i++) {
    const g = rounds.find((r) => r.scenario === scenario.key && r.transport === 'grpc' && r.round === i);
    const r = rounds.find((x) => x.scenario === scenario.key && x.transport === 'rest' && x.round === i);
    if (g === undefined || r === undefined) break;
    perRound.pushesPerSecond.push(g.figures.pushesPerSecond / r.figures.pushesPerSecond);
    perRound.gatewayCpuPerPush.push(g.figures.gatewayUsPerPush / r.figures.gatewayUsPerPush);
  }
  return {
    scenario: scenario.key,
    label: scenario.label,
    pushesPerSecond: grpc.figures.pushesPerSecond / rest.figures.pushesPerSecond,
    deliveriesPerSecond: grpc.figures.deliveriesPerSecond / rest.figures.deliveriesPerSecond,
    gatewayCpuPerPush: cpu,
    gatewayCpuSavingPercent: (1 - cpu) * 100,
    p99: grpc.figures.latencyUs.p99 / rest.figures.latencyUs.p99,
    perRound,
  };
}
