/**
 * One run: one transport, one scenario, one round. Sends the warm-up and the measured part, waits until every measured
 * push has reached every session, and reads the CPU counters of the gateway, the receivers, this process and the
 * machine at both ends of the measured window.
 */
import { withDeadline } from '../../src/testkit/wait.ts';
import type { BenchChild } from '../lib/child-process.ts';
import { monoMs } from '../lib/clock.ts';
import { LogHistogram } from '../lib/histogram.ts';
import { machineCpu, processCpuUs, threadCpuUs, threadDelta, type MachineCpu } from '../lib/proc-stat.ts';
import { scrapeMetrics, sumOf, type MetricSample } from '../lib/prometheus.ts';
import type { GatewayReady } from './gateway-process.ts';
import { closedLoop, fixedRate, type RunIds } from './load.ts';
import { createPublisher, type Transport } from './publishers.ts';
import type { CountAnswer, ReceiversReady, RunReport, StatusAnswer } from './receivers-process.ts';
import { figuresOf, type RoundResult, type Scenario, type Totals } from './results.ts';

/** The options a run reads. */
export interface RunSettings {
  fixedSeconds: number;
  maxSeconds: number;
  warmupSeconds: number;
  rate: number;
  sessions: number;
  connections: number;
  grpcWindow: number;
  payloadBytes: number;
}

/** The processes a run works with. */
export interface Rig {
  settings: RunSettings;
  gateway: GatewayReady;
  receivers: BenchChild<ReceiversReady>;
  receiversPid: number;
}

/** CPU counters of the three processes, the machine's, and the receivers' delivery count, at one moment. */
export interface Sample {
  atMs: number;
  gatewayUs: number;
  gatewayThreads: Map<number, number>;
  receiversUs: number;
  publisherUs: number;
  machine: MachineCpu;
  delivered: number;
}

/** The /proc counters are read at once; the receivers' count follows one IPC round trip (about a millisecond) later. */
export async function takeSample(rig: Rig): Promise<Sample> {
  const own = process.cpuUsage();
  const partial = {
    atMs: monoMs(),
    gatewayUs: processCpuUs(rig.gateway.pid),
    gatewayThreads: threadCpuUs(rig.gateway.pid),
    receiversUs: processCpuUs(rig.receiversPid),
    publisherUs: own.user + own.system,
    machine: machineCpu(),
  };
  const { count } = await rig.receivers.request<CountAnswer>({ type: 'total' });
  return { ...partial, delivered: count };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the receivers hold `expected` deliveries of `run`, or nothing new arrived for `quietMs`. */
async function awaitDeliveries(receivers: BenchChild<ReceiversReady>, run: number, expected: number, quietMs = 2000, maxMs = 30_000): Promise<void> {
  const begin = monoMs();
  let last = -1;
  let lastChangeMs = begin;
  for (;;) {
    const { count } = await receivers.request<CountAnswer>({ type: 'count', run });
    const now = monoMs();
    if (count >= expected) return;
    if (count !== last) {
      last = count;
      lastChangeMs = now;
    } else if (now - lastChangeMs > quietMs || now - begin > maxMs) return;
    await sleep(10);
  }
}

function counters(samples: MetricSample[]) {
  return {
    clientSendDropped: sumOf(samples, 'actorgate_client_send_dropped_total'),
    slowConsumerCloses: sumOf(samples, 'actorgate_slow_consumer_closes_total'),
    overloaded: sumOf(samples, 'actorgate_push_api_total', { outcome: 'overloaded' }),
  };
}

export async function runOne(rig: Rig, scenario: Scenario, transport: Transport, round: number, ids: RunIds): Promise<RoundResult> {
  const { settings: options, gateway, receivers } = rig;
  const metricsUrl = `http://127.0.0.1:${gateway.adminPort}/metrics`;
  const before = counters(await scrapeMetrics(metricsUrl));
  const publisher = createPublisher(transport, gateway, { payloadBytes: options.payloadBytes, connections: options.connections });
  let starting: Promise<Sample> | undefined;
  const onMeasure = () => (starting = takeSample(rig));
  const warmMs = options.warmupSeconds * 1000;
  const window = transport === 'rest' ? options.connections : options.grpcWindow;
  const load =
    scenario.mode === 'fixed'
      ? await fixedRate(publisher, { callsPerSecond: options.rate, pushesPerCall: scenario.pushesPerCall, warmMs, measureMs: options.fixedSeconds * 1000 }, ids, onMeasure)
      : await closedLoop(publisher, { window, pushesPerCall: scenario.pushesPerCall, warmMs, measureMs: options.maxSeconds * 1000 }, ids, onMeasure);
  const answers = await withDeadline(publisher.finish(), 30_000, `${transport}: the gateway to answer every call`);
  publisher.close();
  const sentTotal = load.sentWarm + load.sentMeasured;
  // Pushes the gateway refused are counted against the measured part: the conservative choice.
  const acceptedMeasured = Math.max(0, load.sentMeasured - Math.max(0, sentTotal - answers.accepted));
  const expected = acceptedMeasured * options.sessions;
  await awaitDeliveries(receivers, ids.measured, expected);
  const end = await takeSample(rig);
  const start = await starting!;
  const report = await receivers.request<RunReport>({ type: 'report', run: ids.measured });
  const status = await receivers.request<StatusAnswer>({ type: 'status' });
  const after = counters(await scrapeMetrics(metricsUrl));
  if (status.controlErrors.length > 0) process.stderr.write(`receivers saw: ${status.controlErrors.join('; ')}\n`);
  if (status.unexpectedFrames > 0) process.stderr.write(`receivers got ${status.unexpectedFrames} frames that were neither binary nor control\n`);
  if (status.open < options.sessions) process.stderr.write(`only ${status.open} of ${options.sessions} receiving sessions are still open\n`);

  const threads = threadDelta(start.gatewayThreads, end.gatewayThreads);
  const windowSeconds = (end.atMs - start.atMs) / 1000;
  const totals: Totals = {
    sendSeconds: (load.measureEndMs - load.measureStartMs) / 1000,
    pushesAccepted: acceptedMeasured,
    windowSeconds,
    deliveries: end.delivered - start.delivered,
    gatewayUs: end.gatewayUs - start.gatewayUs,
    gatewayMainThreadUs: threads.get(gateway.pid) ?? 0,
    receiversUs: end.receiversUs - start.receiversUs,
    publisherUs: end.publisherUs - start.publisherUs,
    machineBusyUs: end.machine.busyUs - start.machine.busyUs,
    machineStealUs: end.machine.stealUs - start.machine.stealUs,
    expected,
    received: report.count,
    lost: Math.max(0, expected - report.count),
    dropped: answers.dropped,
    failedCalls: answers.failedCalls,
    overloaded: after.overloaded - before.overloaded,
    clientSendDropped: after.clientSendDropped - before.clientSendDropped,
    slowConsumerCloses: after.slowConsumerCloses - before.slowConsumerCloses,
  };
  const latency = LogHistogram.from(report.latency);
  return {
    scenario: scenario.key,
    transport,
    round,
    totals,
    latency: report.latency,
    figures: figuresOf(totals, latency, options.sessions),
    gatewayTopThreads: [...threads]
      .filter(([tid]) => tid !== gateway.pid)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([tid, us]) => ({ tid, cores: us / 1e6 / windowSeconds })),
    receiverSessionsOpen: status.open,
  };
}

