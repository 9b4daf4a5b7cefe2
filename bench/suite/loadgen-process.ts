/**
 * The load generator: a process of its own (so its CPU can be read from /proc apart from the gateway's) whose threads
 * each hold many connections. Spreads each request over its threads and merges their answers. The threads are either
 * loadgen-thread.ts worker threads or, with `--native`, the threads of the native generator (bench/native/loadgen.c,
 * built by native-loadgen.ts), which this process drives over its stdin and stdout; then the pid announced is the
 * native process's, so its CPU is what the suite reads.
 *
 *   node --import tsx bench/suite/loadgen-process.ts [--threads 2] [--native PATH]
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { intFlag, parseFlags } from '../lib/args.ts';
import { LogHistogram, type HistogramJSON } from '../lib/histogram.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';
import type { GroupLoad, GroupResult, GroupSpec, RunSpec, ThreadReply, ThreadRequest } from './loadgen-thread.ts';
import { nativeLine } from './native-loadgen.ts';

export interface LoadgenReady {
  /** The process whose threads hold the connections (the native generator's, with `--native`). */
  pid: number;
  threads: number;
  generator: 'native' | 'node';
}

/** A `connect` request: open `groups` (connections per serverId) against host:port. */
export interface ConnectRequest {
  host: string;
  port: number;
  protocol?: string;
  groups: GroupSpec[];
  /** Connection attempts in flight per thread. @default 64 */
  concurrency?: number;
}

export interface ConnectAnswer {
  opened: number[];
  failed: number;
  firstError?: string;
}

export interface RunAnswer {
  groups: GroupResult[];
  /** Open loop: µs between one thread's polls of its sockets, all threads merged. */
  pollInterval: HistogramJSON;
  /** Open loop: the busiest-stalled thread's share of the measured window spent off its core (gaps ≥ 1 ms). */
  stalledShare: number;
  /** How the threads that drove open-loop groups were scheduled (native: `fifo` where SCHED_FIFO was granted). */
  scheduling: ('fifo' | 'normal' | 'node')[];
}

const flags = parseFlags(process.argv.slice(2), { threads: { type: 'string' }, native: { type: 'string' } });
const threadCount = intFlag(flags, 'threads', 1, 16, 2);

/** The load threads, whichever implementation: `ask` sends thread `t` one request and resolves with its reply. */
interface LoadThreads {
  pid: number;
  ask(t: number, request: ThreadRequest): Promise<ThreadReply>;
  close(): Promise<void>;
}

function nodeThreads(count: number): LoadThreads {
  // Node 20 does not apply `--import tsx` to a worker's entry module: register tsx in the thread, then import the
  // entry (as src/supervisor/supervisor.ts does for the gateway's workers).
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(
    new URL('./loadgen-thread.ts', import.meta.url).href,
  )}); });`;
  const waiting = new Map<number, (reply: ThreadReply) => void>();
  const workers = Array.from({ length: count }, (_, i) => {
    const worker = new Worker(bootstrap, { eval: true, name: `loadgen-${i}` });
    worker.on('message', (reply: ThreadReply) => settle(waiting, reply));
    worker.on('error', (err) => {
      process.stderr.write(`loadgen thread ${i} failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    });
    return worker;
  });
  return {
    pid: process.pid,
    ask: (t, request) => awaitReply(waiting, request, () => workers[t]!.postMessage(request)),
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

function nativeThreads(binary: string, count: number): LoadThreads {
  const child = spawn(binary, ['--threads', String(count)], { stdio: ['pipe', 'pipe', 'inherit'] });
  if (child.pid === undefined) throw new Error(`could not start ${binary}`);
  const waiting = new Map<number, (reply: ThreadReply) => void>();
  let closing = false;
  createInterface({ input: child.stdout }).on('line', (line) => settle(waiting, JSON.parse(line) as ThreadReply));
  child.once('exit', (code, signal) => {
    if (closing) return;
    process.stderr.write(`native load generator exited (${code ?? signal})\n`);
    process.exit(1);
  });
  return {
    pid: child.pid,
    ask: (t, request) => awaitReply(waiting, request, () => child.stdin.write(`${nativeLine(t, request)}\n`)),
    close: () => {
      closing = true;
      child.stdin.end(); // end of input ends it
      return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
    },
  };
}

function awaitReply(waiting: Map<number, (reply: ThreadReply) => void>, request: ThreadRequest, send: () => void): Promise<ThreadReply> {
  return new Promise((resolve, reject) => {
    waiting.set(request.id, (reply) => (reply.type === 'failed' ? reject(new Error(reply.error)) : resolve(reply)));
    send();
  });
}

function settle(waiting: Map<number, (reply: ThreadReply) => void>, reply: ThreadReply): void {
  const resolve = waiting.get(reply.id);
  waiting.delete(reply.id);
  resolve?.(reply);
}

const generator: LoadgenReady['generator'] = flags.native === undefined ? 'node' : 'native';
const threads = flags.native === undefined ? nodeThreads(threadCount) : nativeThreads(flags.native, threadCount);
const all = Array.from({ length: threadCount }, (_, i) => i);
let nextId = 1;

/** Connections of each group per thread, as `connect` spread them (thread t gets every t-th). */
let shares: number[][] = [];

async function connect(request: ConnectRequest): Promise<ConnectAnswer> {
  const added = all.map((t) =>
    request.groups.map((g) => {
      const on = g.threads ?? all;
      const i = on.indexOf(t);
      return i < 0 ? 0 : Math.floor(g.count / on.length) + (i < g.count % on.length ? 1 : 0);
    }),
  );
  shares = added.map((counts, t) => counts.map((n, gi) => n + (shares[t]?.[gi] ?? 0)));
  const replies = await Promise.all(
    all.map((t) =>
      threads.ask(t, {
        type: 'connect',
        id: nextId++,
        host: request.host,
        port: request.port,
        protocol: request.protocol,
        groups: request.groups.map((g, gi) => ({ serverId: g.serverId, count: added[t]![gi]! })),
        concurrency: request.concurrency ?? 64,
      }),
    ),
  );
  const opened = request.groups.map(() => 0);
  let failed = 0;
  let firstError: string | undefined;
  for (const reply of replies) {
    if (reply.type !== 'connected') continue;
    reply.opened.forEach((n, gi) => (opened[gi]! += n));
    failed += reply.failed;
    firstError ??= reply.firstError;
  }
  return { opened, failed, firstError };
}

/** An open-loop group's rate is split over the threads in proportion to the connections each holds. */
function loadFor(load: GroupLoad, t: number, gi: number, total: number): GroupLoad {
  if (load.mode !== 'open' || total === 0) return load;
  return { mode: 'open', rate: (load.rate * (shares[t]?.[gi] ?? 0)) / total };
}

async function runAll(spec: RunSpec): Promise<RunAnswer> {
  const totals = spec.groups.map((_, gi) => shares.reduce((n, s) => n + (s[gi] ?? 0), 0));
  const replies = await Promise.all(
    shares.map((_, t) =>
      threads.ask(t, { type: 'run', id: nextId++, spec: { ...spec, groups: spec.groups.map((g, gi) => loadFor(g, t, gi, totals[gi]!)) } }),
    ),
  );
  const merged = spec.groups.map((): GroupResult & { hist: LogHistogram; late: LogHistogram } => ({
    sent: 0,
    echoed: 0,
    echoedInWindow: 0,
    errors: {},
    outOfOrder: 0,
    clientBehind: 0,
    unanswered: 0,
    latency: new LogHistogram().toJSON(),
    sendLateness: new LogHistogram().toJSON(),
    hist: new LogHistogram(),
    late: new LogHistogram(),
  }));
  const pollInterval = new LogHistogram();
  let stalledShare = 0;
  const scheduling: RunAnswer['scheduling'] = [];
  for (const [t, reply] of replies.entries()) {
    if (reply.type !== 'ran') continue;
    if (spec.groups.some((g, gi) => g.mode === 'open' && (shares[t]?.[gi] ?? 0) > 0)) scheduling.push(reply.scheduling ?? 'node');
    pollInterval.merge(reply.pollInterval);
    stalledShare = Math.max(stalledShare, reply.stalledUs / (spec.measureMs * 1000));
    reply.groups.forEach((g, gi) => {
      const m = merged[gi]!;
      m.sent += g.sent;
      m.echoed += g.echoed;
      m.echoedInWindow += g.echoedInWindow;
      m.outOfOrder += g.outOfOrder;
      m.clientBehind += g.clientBehind;
      m.unanswered += g.unanswered;
      for (const [code, n] of Object.entries(g.errors)) m.errors[code] = (m.errors[code] ?? 0) + n;
      m.hist.merge(g.latency);
      m.late.merge(g.sendLateness);
    });
  }
  return {
    groups: merged.map(({ hist, late, ...g }) => ({ ...g, latency: hist.toJSON(), sendLateness: late.toJSON() })),
    pollInterval: pollInterval.toJSON(),
    stalledShare,
    scheduling,
  };
}

async function disconnect(): Promise<object> {
  await Promise.all(all.map((t) => threads.ask(t, { type: 'disconnect', id: nextId++ })));
  shares = [];
  return {};
}

serveParent(
  (request) => {
    const body = request as unknown as Record<string, unknown>;
    switch (request.type) {
      case 'connect':
        return connect(body as unknown as ConnectRequest);
      case 'run':
        return runAll(body.spec as RunSpec);
      case 'disconnect':
        return disconnect();
      default:
        throw new Error(`unknown request ${request.type}`);
    }
  },
  () => threads.close(),
);

announceReady({ pid: threads.pid, threads: threadCount, generator } satisfies LoadgenReady);
