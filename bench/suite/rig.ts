/**
 * The processes of one suite run and the measured run itself: two echo backend processes (A and B, each its own, so
 * that stalling B cannot touch A's event loop), a load-generator process, and one target process at a time. `measure` runs a load and reads every process's CPU from /proc over exactly the
 * measured window, so each figure can say who set the pace.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BenchChild } from '../lib/child-process.ts';
import type { HistogramJSON } from '../lib/histogram.ts';
import { machineCpu, processCpuUs, threadCpuUs, threadDelta } from '../lib/proc-stat.ts';
import type { BackendLoopDelay, EchoBackendReady } from './echo-backend-process.ts';
import type { ConnectAnswer, ConnectRequest, LoadgenReady, RunAnswer } from './loadgen-process.ts';
import type { GroupResult, RunSpec } from './loadgen-thread.ts';
import { buildNativeLoadgen } from './native-loadgen.ts';
import type { TargetKind, TargetReady } from './target-process.ts';

const here = import.meta.dirname;

export interface Target {
  kind: TargetKind;
  /** actorgate worker threads; 1 for the references. */
  workers: number;
  /** Stable key and label for reports: "actorgate-2", "actorgate, 2 workers". */
  key: string;
  label: string;
}

export const TARGETS: readonly Target[] = [
  { kind: 'uws-echo', workers: 1, key: 'uws-echo', label: 'bare uWS echo (1 thread)' },
  { kind: 'naive', workers: 1, key: 'naive', label: 'naive gateway (ws + grpc-js, 1 thread)' },
  { kind: 'floor', workers: 1, key: 'floor', label: 'floor relay (uWS + grpc-js, 1 thread)' },
  { kind: 'actorgate', workers: 1, key: 'actorgate-1', label: 'actorgate, 1 worker' },
  { kind: 'actorgate', workers: 2, key: 'actorgate-2', label: 'actorgate, 2 workers' },
];

/** Cores busy over the measured window (1.00 = one core). */
export interface CpuShares {
  target: number;
  loadgen: number;
  /** The load generator's busiest thread: near 1.00 means the client, not the target, set the pace. */
  loadgenBusiestThread: number;
  backend: number;
  machine: number;
  steal: number;
  /** Busy cores not accounted for by the three processes: something else on the machine (it skews the run). */
  other: number;
}

export interface Measured {
  groups: GroupResult[];
  /** Open loop: µs between one load thread's polls of its sockets. */
  pollInterval: HistogramJSON;
  /** Open loop: the most any load thread spent off its core, as a share of the measured window. */
  loadgenStalledShare: number;
  /** Open loop: how each load thread that sent was scheduled (native: `fifo` where SCHED_FIFO was granted). */
  loadgenScheduling: RunAnswer['scheduling'];
  cpu: CpuShares;
  /** Target CPU time over the measured window, µs. */
  targetCpuUs: number;
  windowMs: number;
}

export class Rig {
  readonly backends: readonly [BenchChild<EchoBackendReady>, BenchChild<EchoBackendReady>];
  readonly loadgen: BenchChild<LoadgenReady>;
  /** Backend A's and B's endpoints and pids. */
  backendReady!: { endpoints: string[]; pids: number[] };
  loadgenReady!: LoadgenReady;
  #target: BenchChild<TargetReady> | undefined;
  targetReady: TargetReady | undefined;

  /** Why the Node load generator runs where the native one was asked for (no C compiler, a failed build). */
  readonly loadgenFallback: string | undefined;
  readonly #fromSource: boolean;

  /**
   * `fromSource`: run actorgate from src/ through tsx instead of from dist/. `generator`: the native load generator
   * (built here; the Node one if the build fails, with the reason in `loadgenFallback`) or the Node one.
   */
  constructor(loadgenThreads: number, fromSource = false, generator: 'native' | 'node' = 'native') {
    this.#fromSource = fromSource;
    const backend = (name: string) => new BenchChild<EchoBackendReady>(name, resolve(here, 'echo-backend-process.ts'), ['--count', '1']);
    this.backends = [backend('backend-a'), backend('backend-b')];
    const build = generator === 'native' ? buildNativeLoadgen() : undefined;
    this.loadgenFallback = build !== undefined && 'reason' in build ? build.reason : undefined;
    if (this.loadgenFallback !== undefined) process.stderr.write(`native load generator not built (${this.loadgenFallback}): the Node one runs\n`);
    const native = build !== undefined && 'binary' in build ? ['--native', build.binary] : [];
    this.loadgen = new BenchChild<LoadgenReady>('loadgen', resolve(here, 'loadgen-process.ts'), ['--threads', String(loadgenThreads), ...native]);
  }

  async start(): Promise<void> {
    const [a, b, loadgen] = await Promise.all([this.backends[0].ready, this.backends[1].ready, this.loadgen.ready]);
    this.backendReady = { endpoints: [a.endpoints[0]!, b.endpoints[0]!], pids: [a.pid, b.pid] };
    this.loadgenReady = loadgen;
  }

  /** Starts `target` (stopping the previous one); serverType 1 goes to backend A, 2 to backend B. `args`: more target-process.ts flags. */
  async startTarget(target: Target, nodeArgs: readonly string[] = [], env: Record<string, string> = {}, args: readonly string[] = []): Promise<TargetReady> {
    await this.stopTarget();
    const [a, b] = this.backendReady.endpoints;
    const child = new BenchChild<TargetReady>(
      target.key,
      resolve(here, 'target-process.ts'),
      // actorgate runs from dist/, as `npm start` and the published package run it.
      ['--kind', target.kind, '--workers', String(target.workers), '--backend', `1=${a}`, '--backend', `2=${b}`, ...(target.kind === 'actorgate' && !this.#fromSource ? ['--dist'] : []), ...args],
      { nodeArgs, env },
    );
    this.#target = child;
    this.targetReady = await child.ready;
    return this.targetReady;
  }

  async stopTarget(): Promise<void> {
    const child = this.#target;
    this.#target = undefined;
    this.targetReady = undefined;
    if (child !== undefined) await child.stop(15_000);
  }

  connect(request: Omit<ConnectRequest, 'host' | 'port'>): Promise<ConnectAnswer> {
    const port = this.targetReady?.port;
    if (port === undefined) throw new Error('no target running');
    return this.loadgen.request<ConnectAnswer>({ type: 'connect', host: '127.0.0.1', port, ...request }, 120_000);
  }

  disconnect(): Promise<unknown> {
    return this.loadgen.request({ type: 'disconnect' }, 60_000);
  }

  /** Runs `spec` and reads CPU over its measured window. */
  async measure(spec: RunSpec): Promise<Measured> {
    const targetPid = this.targetReady?.pid;
    if (targetPid === undefined) throw new Error('no target running');
    const pids = { target: targetPid, loadgen: this.loadgenReady.pid, backends: this.backendReady.pids };
    let from: Sample | undefined;
    let to: Sample | undefined;
    const answer = this.loadgen.request<RunAnswer>({ type: 'run', spec }, spec.warmupMs + spec.measureMs + spec.drainMs + 60_000);
    const t1 = setTimeout(() => (from = sample(pids)), spec.warmupMs);
    const t2 = setTimeout(() => (to = sample(pids)), spec.warmupMs + spec.measureMs);
    try {
      const { groups, pollInterval, stalledShare, scheduling } = await answer;
      // On a saturated machine this process's timer can fire late, after a quick drain has already answered: then
      // the window closes now, a few milliseconds late (cores are computed over the window actually sampled).
      to ??= sample(pids);
      if (from === undefined) throw new Error('the run ended before its measured window began');
      const windowUs = (to.atMs - from.atMs) * 1000;
      const busiest = Math.max(0, ...threadDelta(from.loadgenThreads, to.loadgenThreads).values());
      const measured: Measured = {
        groups,
        pollInterval,
        loadgenStalledShare: stalledShare,
        loadgenScheduling: scheduling,
        targetCpuUs: to.target - from.target,
        windowMs: to.atMs - from.atMs,
        cpu: {
          target: (to.target - from.target) / windowUs,
          loadgen: (to.loadgen - from.loadgen) / windowUs,
          loadgenBusiestThread: busiest / windowUs,
          backend: (to.backend - from.backend) / windowUs,
          machine: (to.machine.busyUs - from.machine.busyUs) / windowUs,
          steal: (to.machine.stealUs - from.machine.stealUs) / windowUs,
          other: 0,
        },
      };
      const c = measured.cpu;
      c.other = Math.max(0, c.machine - c.steal - c.target - c.loadgen - c.backend);
      return measured;
    } finally {
      clearTimeout(t1);
      clearTimeout(t2);
    }
  }

  /** Backend `index`'s event-loop delay since the last call (0 = A, 1 = B); the first call starts the window. */
  async backendLoopDelay(index: number): Promise<BackendLoopDelay> {
    const { p50Us, p99Us, maxUs, samples } = await this.backends[index]!.request<BackendLoopDelay>({ type: 'loopDelay' });
    return { p50Us, p99Us, maxUs, samples };
  }

  /** Stalls (stops reading) or resumes backend `index` (0 = A, 1 = B). */
  setStalled(index: number, stalled: boolean): Promise<unknown> {
    const backend = this.backends[index];
    if (backend === undefined) throw new Error(`no backend ${index}`);
    return backend.request({ type: stalled ? 'stall' : 'resume', index: 0 });
  }

  async close(): Promise<void> {
    await this.stopTarget();
    await Promise.all([this.loadgen.stop(), ...this.backends.map((b) => b.stop())]);
  }
}

interface Sample {
  atMs: number;
  target: number;
  loadgen: number;
  loadgenThreads: Map<number, number>;
  backend: number;
  machine: ReturnType<typeof machineCpu>;
}

function sample(pids: { target: number; loadgen: number; backends: number[] }): Sample {
  return {
    atMs: performance.now(),
    target: processCpuUs(pids.target),
    loadgen: processCpuUs(pids.loadgen),
    loadgenThreads: threadCpuUs(pids.loadgen),
    backend: pids.backends.reduce((sum, pid) => sum + processCpuUs(pid), 0),
    machine: machineCpu(),
  };
}

/** Resident set size of a process, bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}
