/**
 * The load generator: a process of its own (so its CPU can be read from /proc apart from the gateway's) running
 * several loadgen-thread.ts threads, each with many connections. Spreads each request over its threads and merges
 * their answers.
 *
 *   node --import tsx bench/suite/loadgen-process.ts [--threads 2]
 */
import { Worker } from 'node:worker_threads';
import { intFlag, parseFlags } from '../lib/args.ts';
import { LogHistogram, type HistogramJSON } from '../lib/histogram.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';
import type { GroupLoad, GroupResult, GroupSpec, RunSpec, ThreadReply, ThreadRequest } from './loadgen-thread.ts';

export interface LoadgenReady {
  pid: number;
  threads: number;
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
}

const threadCount = intFlag(parseFlags(process.argv.slice(2), { threads: { type: 'string' } }), 'threads', 1, 16, 2);

// Node 20 does not apply `--import tsx` to a worker's entry module: register tsx in the thread, then import the entry
// (as src/supervisor/supervisor.ts does for the gateway's workers).
const threadBootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(
  new URL('./loadgen-thread.ts', import.meta.url).href,
)}); });`;

const threads: Worker[] = [];
const waiting = new Map<number, (reply: ThreadReply) => void>();
let nextId = 1;
for (let i = 0; i < threadCount; i++) {
  const worker = new Worker(threadBootstrap, { eval: true, name: `loadgen-${i}` });
  worker.on('message', (reply: ThreadReply) => {
    const resolve = waiting.get(reply.id);
    waiting.delete(reply.id);
    resolve?.(reply);
  });
  worker.on('error', (err) => {
    process.stderr.write(`loadgen thread ${i} failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
  threads.push(worker);
}

/** Connections of each group per thread, as `connect` spread them (thread t gets every t-th). */
let shares: number[][] = [];

function ask(thread: Worker, request: ThreadRequest): Promise<ThreadReply> {
  return new Promise((resolve, reject) => {
    waiting.set(request.id, (reply) => (reply.type === 'failed' ? reject(new Error(reply.error)) : resolve(reply)));
    thread.postMessage(request);
  });
}

async function connect(request: ConnectRequest): Promise<ConnectAnswer> {
  const added = threads.map((_, t) =>
    request.groups.map((g) => {
      const on = g.threads ?? threads.map((_, i) => i);
      const i = on.indexOf(t);
      return i < 0 ? 0 : Math.floor(g.count / on.length) + (i < g.count % on.length ? 1 : 0);
    }),
  );
  shares = added.map((counts, t) => counts.map((n, gi) => n + (shares[t]?.[gi] ?? 0)));
  const replies = await Promise.all(
    threads.map((thread, t) =>
      ask(thread, {
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
  return { mode: 'open', rate: (load.rate * shares[t]![gi]!) / total };
}

async function runAll(spec: RunSpec): Promise<RunAnswer> {
  const totals = spec.groups.map((_, gi) => shares.reduce((n, s) => n + (s[gi] ?? 0), 0));
  const replies = await Promise.all(
    threads.map((thread, t) =>
      ask(thread, { type: 'run', id: nextId++, spec: { ...spec, groups: spec.groups.map((g, gi) => loadFor(g, t, gi, totals[gi]!)) } }),
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
  for (const reply of replies) {
    if (reply.type !== 'ran') continue;
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
  };
}

async function disconnect(): Promise<object> {
  await Promise.all(threads.map((thread) => ask(thread, { type: 'disconnect', id: nextId++ })));
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
  async () => {
    await Promise.all(threads.map((t) => t.terminate()));
  },
);

announceReady({ pid: process.pid, threads: threadCount } satisfies LoadgenReady);
