/**
 * The push-scale scenario: one actorgate process (2 workers, from dist/) holds `connections` idle WebSocket sessions,
 * each subscribed to one of `topics` topics, opened by receiver processes of their own (bench/suite/
 * loadgen-push-process.ts; each has the same open-file limit as the gateway, so the sessions are split over two).
 * Measured, in order: the gateway's RSS, descriptors and idle CPU with no connections; RSS after half and after all
 * of them (the slope per connection); the kernel's socket memory before and with every connection open
 * (/proc/net/sockstat, /proc/meminfo Slab); idle CPU with every connection open over one ping interval; then a
 * window in which every topic gets one push a second through the gRPC push API, so every session receives one push a
 * second: push-to-delivery latency, deliveries expected and received, and the gateway's CPU. From those slopes, what
 * a million connections would need (push-scale-model.ts `project`).
 *
 * Also runnable alone (no BENCHMARKS.md; prints the figures and the rendered subsection):
 *   node --import tsx bench/suite/push-scale-main.ts [--quick] [--connections N]
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SETTING_ROWS, staticDefault } from '../../src/core/settings-table.ts';
import { BenchChild } from '../lib/child-process.ts';
import { LogHistogram, type HistogramJSON, type Percentiles } from '../lib/histogram.ts';
import { clockTicksPerSecond, machineCpu, processCpuUs, threadCpuUs, threadDelta } from '../lib/proc-stat.ts';
import type { LoopDelayAnswer, OpenAnswer, PushLoadgenReady, PushLoadgenStatus, PushRunReport } from './loadgen-push-process.ts';
import { cpuPerDelivery, kernelPerConnection, kernelReading, linearFit, openFilesLimit, project, statTimesUs, type KernelPerConnection, type KernelReading, type Projection, type ProjectionInputs } from './push-scale-model.ts';
import { FIRST_HALF_RUN, pace, SECOND_HALF_RUN, type PaceResult } from './push-scale-publisher.ts';
import { rssBytes, TARGETS, type Rig } from './rig.ts';
import { settledRss } from './scenarios.ts';

const here = import.meta.dirname;
/** RSS is read after each of these shares of the connections has been opened; the slope is fitted through them. */
const RSS_STEPS = [0.25, 0.5, 0.75, 1];

export interface PushScaleSettings {
  connections: number;
  topics: number;
  receiverProcesses: number;
  payloadBytes: number;
  warmupSeconds: number;
  measureSeconds: number;
  /** Idle CPU with every connection open is read over this long: one ping interval, so each session is pinged once. */
  idleMs: number;
  /** Idle CPU of the gateway with no connections, read over this long. */
  baseIdleMs: number;
  /**
   * RSS is read no sooner than this after each step: V8's memory reducer hands memory back about 8 s after allocation
   * calms down, and a reading taken before it counts that garbage as connections.
   */
  settleMs: number;
  /**
   * Node flags of the gateway process. V8's memory reducer off: it shrinks the heaps (young generation included) at
   * moments of its own choosing, which moved RSS by more than the connections did; without it RSS follows what is
   * kept, and the CPU paths measured here are the same (it runs only when the process is idle).
   */
  gatewayNodeArgs: string[];
}

/** limits.pingIntervalMs as the gateway defaults it (the scenario runs with the default). */
const PING_INTERVAL_MS = Number(staticDefault(SETTING_ROWS.find((r) => r.path === 'limits.pingIntervalMs')!));

export function pushScaleSettings(quick: boolean, connections = quick ? 3000 : 19_000): PushScaleSettings {
  return {
    connections,
    topics: 100,
    receiverProcesses: 2,
    payloadBytes: 32,
    warmupSeconds: quick ? 1 : 3,
    measureSeconds: quick ? 5 : 20,
    idleMs: quick ? 5000 : PING_INTERVAL_MS,
    baseIdleMs: quick ? 2000 : 10_000,
    settleMs: quick ? 3000 : 10_000,
    gatewayNodeArgs: ['--no-memory-reducer'],
  };
}

export interface PushScaleResult {
  settings: PushScaleSettings;
  target: string;
  pingIntervalMs: number;
  pageSize: number;
  gatewayOpenFilesLimit: number;
  receiverOpenFilesLimit: number;
  sessions: { requested: number; opened: number; failed: number; firstError?: string; perWorker: number[]; lostBeforePush: number; lostAfterPush: number };
  openFiles: { base: number; connected: number };
  /** `interceptBytes`: the fitted line at no connections (what a process costs by itself). */
  rss: { points: { connections: number; rssBytes: number }[]; bytesPerConnection: number; interceptBytes: number; afterPushBytes: number };
  kernel: { before: KernelReading; connected: KernelReading; underPush: KernelReading | null; perConnection: KernelPerConnection };
  idle: { baseCores: number; connectedCores: number; usPerConnectionSecond: number };
  push: {
    sent: number;
    measuredPushes: number;
    expected: number;
    received: number;
    perSessionMin: number;
    perSessionMax: number;
    latency: Percentiles;
    /** Latency of the pushes of the window's first half and of its second: a growing backlog makes the second slower. */
    halves: { first: Percentiles; second: Percentiles };
    /** The worst receiver process's event-loop delay over the pushes, µs: how late it could have read a delivery. */
    receiverLoopDelay: LoopDelayAnswer;
    histogram: HistogramJSON;
    publisherLateness: Percentiles;
    gatewaySummary: PaceResult['summary'];
    streamError?: string;
    windowMs: number;
    /** Cores over the window; `gatewayBusiestThread`: the gateway's busiest thread. */
    /** `publisher`: this (the driver) process; `other`: busy cores none of these account for (other work on the machine). */
    /** `gatewaySystem`: the gateway's kernel (system) time, part of `gateway`. */
    cpu: { gateway: number; gatewaySystem: number; gatewayBusiestThread: number; receivers: number; publisher: number; machine: number; steal: number; other: number };
    usPerDeliveryGross: number;
    usPerDeliveryNet: number;
    unexpectedFrames: number;
    controlErrors: string[];
  };
  inputs: ProjectionInputs;
  projection: Projection;
}

function progress(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const limitOf = (pid: number) => openFilesLimit(readFileSync(`/proc/${pid}/limits`, 'utf8'));
const kernelNow = () => kernelReading(readFileSync('/proc/net/sockstat', 'utf8'), readFileSync('/proc/meminfo', 'utf8'));

function pageSize(): number {
  try {
    return Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;
  } catch {
    return 4096;
  }
}

/** Cores the process used over `ms` (the machine's too). */
async function coresOver(pid: number, ms: number): Promise<number> {
  const from = processCpuUs(pid);
  const at = performance.now();
  await sleep(ms);
  return (processCpuUs(pid) - from) / ((performance.now() - at) * 1000);
}

class Receivers {
  readonly children: BenchChild<PushLoadgenReady>[];
  pids: number[] = [];

  constructor(port: number, s: PushScaleSettings) {
    this.children = Array.from(
      { length: s.receiverProcesses },
      (_, i) =>
        new BenchChild<PushLoadgenReady>(`push-loadgen-${i}`, resolve(here, 'loadgen-push-process.ts'), [
          '--port', String(port), '--topics', String(s.topics), '--offset', String(i), '--stride', String(s.receiverProcesses),
        ]),
    );
  }

  async ready(): Promise<void> {
    this.pids = (await Promise.all(this.children.map((c) => c.ready))).map((r) => r.pid);
  }

  /** Opens `count` more sessions, split evenly (process i takes every i-th of the scenario's sessions). */
  async open(count: number): Promise<OpenAnswer> {
    const n = this.children.length;
    const answers = await Promise.all(
      this.children.map((c, i) => c.request<OpenAnswer>({ type: 'open', count: Math.floor(count / n) + (i < count % n ? 1 : 0) }, 300_000)),
    );
    const perWorker: number[] = [];
    for (const a of answers) a.perWorker.forEach((w, i) => (perWorker[i] = (perWorker[i] ?? 0) + w));
    return {
      opened: answers.reduce((t, a) => t + a.opened, 0),
      failed: answers.reduce((t, a) => t + a.failed, 0),
      firstError: answers.find((a) => a.firstError !== undefined)?.firstError,
      open: answers.reduce((t, a) => t + a.open, 0),
      perWorker: Array.from(perWorker, (w) => w ?? 0),
    };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.children.map((c) => c.request({ type: 'close' }, 120_000)));
  }

  async report(runs: readonly number[]): Promise<PushRunReport> {
    const reports = await Promise.all(this.children.map((c) => c.request<PushRunReport>({ type: 'report', runs }, 30_000)));
    const h = new LogHistogram();
    for (const r of reports) h.merge(r.latency);
    return {
      count: reports.reduce((t, r) => t + r.count, 0),
      latency: h.toJSON(),
      perSessionMin: Math.min(...reports.map((r) => r.perSessionMin)),
      perSessionMax: Math.max(...reports.map((r) => r.perSessionMax)),
      sessions: reports.reduce((t, r) => t + r.sessions, 0),
    };
  }

  /** The worst receiver's event-loop delay since the last reset. */
  async loopDelay(reset: boolean): Promise<LoopDelayAnswer> {
    const all = await Promise.all(this.children.map((c) => c.request<LoopDelayAnswer>({ type: 'loop-delay', reset }, 30_000)));
    return { p99: Math.max(...all.map((a) => a.p99)), max: Math.max(...all.map((a) => a.max)) };
  }

  async status(): Promise<PushLoadgenStatus> {
    const all = await Promise.all(this.children.map((c) => c.request<PushLoadgenStatus>({ type: 'status' }, 30_000)));
    return {
      open: all.reduce((t, s) => t + s.open, 0),
      lost: all.reduce((t, s) => t + s.lost, 0),
      unexpectedFrames: all.reduce((t, s) => t + s.unexpectedFrames, 0),
      controlErrors: all.flatMap((s) => s.controlErrors).slice(0, 20),
    };
  }

  cpuUs(): number {
    return this.pids.reduce((t, pid) => t + processCpuUs(pid), 0);
  }

  stop(): Promise<unknown> {
    return Promise.all(this.children.map((c) => c.stop(30_000)));
  }
}

/** Waits until the receivers have counted `expected` deliveries of `runs`, or the count has not moved for 2 s (at most 15 s). */
async function drained(receivers: Receivers, runs: readonly number[], expected: number): Promise<PushRunReport> {
  const deadline = performance.now() + 15_000;
  let last = await receivers.report(runs);
  let movedAt = performance.now();
  while (last.count < expected && performance.now() < deadline && performance.now() - movedAt < 2000) {
    await sleep(250);
    const now = await receivers.report(runs);
    if (now.count !== last.count) movedAt = performance.now();
    last = now;
  }
  return last;
}

export async function pushScale(rig: Rig, s: PushScaleSettings): Promise<PushScaleResult> {
  const target = TARGETS.find((t) => t.key === 'actorgate-2')!;
  const ready = await rig.startTarget(target, s.gatewayNodeArgs, {}, ['--push']);
  if (ready.pushPort == null) throw new Error('the target process opened no push port');
  const pid = ready.pid;
  const receivers = new Receivers(ready.port, s);
  try {
    await receivers.ready();
    // A first round opened and closed: start-up garbage and first-use allocations are not per-connection costs.
    const warm = await receivers.open(Math.min(1000, s.connections));
    if (warm.failed > 0) throw new Error(`${warm.failed} warm-up sessions failed: ${warm.firstError}`);
    await receivers.closeAll();
    const baseRss = await settledRss(pid, s.baseIdleMs, 20_000);
    const baseFiles = openFiles(pid);
    const kernelBefore = kernelNow();
    const baseCores = await coresOver(pid, s.baseIdleMs);
    progress(`actorgate-2 push scale: no connections: RSS ${(baseRss / 2 ** 20).toFixed(1)} MiB, ${baseFiles} open files, ${baseCores.toFixed(3)} cores idle`);

    const points = [{ connections: 0, rssBytes: baseRss }];
    let opened = 0;
    let failed = 0;
    let firstError: string | undefined;
    let perWorker: number[] = [];
    for (const step of RSS_STEPS.map((f) => Math.round(f * s.connections))) {
      const answer = await receivers.open(step - opened);
      opened += answer.opened;
      failed += answer.failed;
      firstError ??= answer.firstError;
      perWorker = answer.perWorker;
      const rss = await settledRss(pid, s.settleMs, 3 * s.settleMs);
      points.push({ connections: answer.open, rssBytes: rss });
      progress(`actorgate-2 push scale: ${answer.open} sessions subscribed (${failed} failed${firstError ? `: ${firstError}` : ''}), RSS ${(rss / 2 ** 20).toFixed(1)} MiB`);
    }
    const connectedFiles = openFiles(pid);
    const kernelConnected = kernelNow();
    const held = (await receivers.status()).open;
    const connectedCores = await coresOver(pid, s.idleMs);
    const lostBeforePush = (await receivers.status()).lost;
    progress(`actorgate-2 push scale: ${held} sessions idle: ${connectedCores.toFixed(3)} cores over ${s.idleMs / 1000} s, ${connectedFiles} open files`);

    // The push window.
    let from: { gw: number; gwTimes: { userUs: number; systemUs: number }; threads: Map<number, number>; rx: number; driver: number; m: ReturnType<typeof machineCpu>; at: number } | undefined;
    let to: typeof from;
    let underPush: KernelReading | null = null;
    const driverUs = () => {
      const own = process.cpuUsage();
      return own.user + own.system;
    };
    const gatewayTimes = () => statTimesUs(readFileSync(`/proc/${pid}/stat`, 'utf8'), clockTicksPerSecond());
    const sampleCpu = () => ({ gw: processCpuUs(pid), gwTimes: gatewayTimes(), threads: threadCpuUs(pid), rx: receivers.cpuUs(), driver: driverUs(), m: machineCpu(), at: performance.now() });
    await receivers.loopDelay(true);
    const liveAtStart = (await receivers.status()).open;
    const paced = await pace(ready.pushPort, {
      topics: s.topics,
      warmupSeconds: s.warmupSeconds,
      measureSeconds: s.measureSeconds,
      payloadBytes: s.payloadBytes,
      onWindow: (edge) => (edge === 'open' ? (from = sampleCpu()) : (to = sampleCpu())),
      onMidWindow: () => (underPush = kernelNow()),
    });
    const receiverLoopDelay = await receivers.loopDelay(false);
    const measured = [FIRST_HALF_RUN, SECOND_HALF_RUN];
    // Every topic got measureSeconds pushes in the window, so every session open when it began is owed that many (one
    // closed meanwhile misses the rest, and is counted in lostAfterPush).
    const expected = liveAtStart * s.measureSeconds;
    const report = await drained(receivers, measured, expected);
    const half = async (run: number) => LogHistogram.from((await receivers.report([run])).latency).percentiles();
    const halves = { first: await half(FIRST_HALF_RUN), second: await half(SECOND_HALF_RUN) };
    const afterPushRss = rssBytes(pid);
    const status = await receivers.status();
    if (from === undefined || to === undefined) throw new Error('the push window was not sampled');
    const windowUs = (to.at - from.at) * 1000;
    const gatewayCpuUs = to.gw - from.gw;
    const perDelivery = cpuPerDelivery(gatewayCpuUs, windowUs, connectedCores, report.count);
    const latency = LogHistogram.from(report.latency).percentiles();
    progress(
      `actorgate-2 push scale: ${report.count} of ${expected} deliveries, p50 ${(latency.p50 / 1000).toFixed(2)} p99 ${(latency.p99 / 1000).toFixed(2)} ` +
        `p99.9 ${(latency.p999 / 1000).toFixed(2)} max ${(latency.max / 1000).toFixed(2)} ms, gateway ${(gatewayCpuUs / windowUs).toFixed(3)} cores, ` +
        `${perDelivery.grossUs.toFixed(2)} µs/delivery (${perDelivery.netUs.toFixed(2)} net of idle)`,
    );

    const kernel = kernelPerConnection(kernelBefore, kernelConnected, held, pageSize());
    // The fit leaves out the empty baseline: V8 hands start-up memory back when it chooses (often between the
    // baseline and the first step). Its intercept, not the baseline, is what one more process costs by itself.
    const fit = linearFit(points.filter((p) => p.connections > 0).map((p) => [p.connections, p.rssBytes]));
    const bytesPerConnection = fit.slope;
    const inputs: ProjectionInputs = {
      rssBytesPerConnection: bytesPerConnection,
      processBaseRssBytes: Number.isFinite(fit.intercept) ? Math.max(0, fit.intercept) : baseRss,
      // A machine-wide delta can come out below zero when something else freed memory meanwhile: counted as none.
      kernelBytesPerConnection: Math.max(0, kernel.serverSide.tcpMemBytes) + Math.max(0, kernel.serverSide.slabBytes),
      usPerDelivery: Number.isFinite(perDelivery.netUs) && perDelivery.netUs > 0 ? perDelivery.netUs : perDelivery.grossUs,
      idleUsPerConnectionSecond: held > 0 ? Math.max(0, ((connectedCores - baseCores) * 1e6) / held) : 0,
      idleCoresPerProcess: baseCores,
      openFilesLimit: limitOf(pid),
      baseOpenFiles: baseFiles,
    };
    return {
      settings: s,
      target: target.key,
      pingIntervalMs: PING_INTERVAL_MS,
      pageSize: pageSize(),
      gatewayOpenFilesLimit: limitOf(pid),
      receiverOpenFilesLimit: limitOf(receivers.pids[0]!),
      sessions: { requested: s.connections, opened, failed, firstError, perWorker, lostBeforePush, lostAfterPush: status.lost - lostBeforePush },
      openFiles: { base: baseFiles, connected: connectedFiles },
      rss: { points, bytesPerConnection, interceptBytes: fit.intercept, afterPushBytes: afterPushRss },
      kernel: { before: kernelBefore, connected: kernelConnected, underPush, perConnection: kernel },
      idle: { baseCores, connectedCores, usPerConnectionSecond: inputs.idleUsPerConnectionSecond },
      push: {
        sent: paced.sent,
        measuredPushes: paced.measuredPushes,
        expected,
        received: report.count,
        perSessionMin: report.perSessionMin,
        perSessionMax: report.perSessionMax,
        latency,
        halves,
        receiverLoopDelay,
        histogram: report.latency,
        publisherLateness: paced.lateness,
        gatewaySummary: paced.summary,
        streamError: paced.streamError,
        windowMs: windowUs / 1000,
        cpu: {
          gateway: gatewayCpuUs / windowUs,
          gatewaySystem: (to.gwTimes.systemUs - from.gwTimes.systemUs) / windowUs,
          gatewayBusiestThread: Math.max(0, ...threadDelta(from.threads, to.threads).values()) / windowUs,
          receivers: (to.rx - from.rx) / windowUs,
          publisher: (to.driver - from.driver) / windowUs,
          machine: (to.m.busyUs - from.m.busyUs) / windowUs,
          steal: (to.m.stealUs - from.m.stealUs) / windowUs,
          other: Math.max(0, (to.m.busyUs - from.m.busyUs - (to.m.stealUs - from.m.stealUs) - gatewayCpuUs - (to.rx - from.rx) - (to.driver - from.driver)) / windowUs),
        },
        usPerDeliveryGross: perDelivery.grossUs,
        usPerDeliveryNet: perDelivery.netUs,
        unexpectedFrames: status.unexpectedFrames,
        controlErrors: status.controlErrors,
      },
      inputs,
      projection: project(inputs),
    };
  } finally {
    await receivers.stop();
    await rig.stopTarget();
  }
}
