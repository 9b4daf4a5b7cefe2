/**
 * Drain benchmark: 10,000 sessions on gateway A are drained while gateway B takes their reconnects, paced
 * (`shutdown.drainWindowMs`) versus all at once (window 0), both in the same run. B also holds established sessions
 * doing round trips against a backend, and their latency during the drain is what the storm costs the sessions
 * already there.
 *
 *   npm run bench:drain [-- --quick] [-- --help]
 *
 * Every party in its own process: A and B (bench/drain/gateway-process.ts), two load generators holding A's sessions
 * and one holding B's echo sessions (bench/drain/clients-process.ts), and this driver, which hosts the echo backend.
 * Writes bench/results/drain.json, bench/results/drain-reconnects.svg and the `drain` section of BENCHMARKS.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MockBackend } from '../../src/testkit/index.ts';
import { intFlag, parseFlags } from '../lib/args.ts';
import { BenchChild } from '../lib/child-process.ts';
import { monoMs } from '../lib/clock.ts';
import { LogHistogram } from '../lib/histogram.ts';
import { describeMachine, machineFacts } from '../lib/machine.ts';
import { writeSection } from '../lib/markdown.ts';
import { lineChart } from '../lib/svg-chart.ts';
import type { ClientsReady, ClientsReport } from './clients-process.ts';
import type { DrainGatewayReady } from './gateway-process.ts';
import { renderSection, type DrainRun } from './report.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const HELP = `Usage: npm run bench:drain [-- options]

  --quick               2,000 sessions, a 3 s window
  --sessions N          sessions on A, split over two load generators (default 10000)
  --window-ms N         the paced run's shutdown.drainWindowMs (default 10000)
  --echo N              established sessions on B doing round trips (default 200), one frame each
  --echo-interval-ms N  every N ms, one in flight (default 100)
  --workers N           worker threads of each gateway (default 2)
  --no-markdown         do not write BENCHMARKS.md
`;

const values = parseFlags(process.argv.slice(2), {
  quick: { type: 'boolean', default: false },
  sessions: { type: 'string' },
  'window-ms': { type: 'string' },
  echo: { type: 'string' },
  'echo-interval-ms': { type: 'string' },
  workers: { type: 'string' },
  'no-markdown': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
}, HELP);
const quick = values.quick === true;
const sessions = intFlag(values, 'sessions', 2, 20_000, quick ? 2000 : 10_000);
const windowMs = intFlag(values, 'window-ms', 100, 600_000, quick ? 3000 : 10_000);
const echo = intFlag(values, 'echo', 1, 5000, 200);
const echoIntervalMs = intFlag(values, 'echo-interval-ms', 1, 10_000, 100);
const workers = intFlag(values, 'workers', 1, 64, 2);

const BUCKET_MS = 100;
const gatewayFile = resolve(here, 'gateway-process.ts');
const clientsFile = resolve(here, 'clients-process.ts');

async function runOne(name: string, runWindowMs: number, backend: string): Promise<DrainRun> {
  const gatewayArgs = (w: number) => ['--backend', backend, '--window-ms', String(w), '--workers', String(workers)];
  const a = new BenchChild<DrainGatewayReady>(`${name}:A`, gatewayFile, gatewayArgs(runWindowMs));
  const b = new BenchChild<DrainGatewayReady>(`${name}:B`, gatewayFile, gatewayArgs(0));
  const children: BenchChild<unknown>[] = [a, b];
  try {
    const [readyA, readyB] = await Promise.all([a.ready, b.ready]);
    const ports = ['--a', String(readyA.port), '--b', String(readyB.port)];
    const echoArgs = [...ports, '--sessions', '0', '--echo', String(echo)];
    echoArgs.push('--echo-interval-ms', String(echoIntervalMs));
    const echoer = new BenchChild<ClientsReady>(`${name}:echo`, clientsFile, echoArgs, { readyTimeoutMs: 120_000 });
    const half = Math.ceil(sessions / 2);
    const loaders = [half, sessions - half].map((n, i) => {
      const args = [...ports, '--sessions', String(n)];
      return new BenchChild<ClientsReady>(`${name}:load${i}`, clientsFile, args, { readyTimeoutMs: 300_000 });
    });
    children.push(echoer, ...loaders);
    await Promise.all([echoer.ready, ...loaders.map((l) => l.ready)]);
    const onA = (await a.request<{ sessions: number }>({ type: 'sessions' })).sessions;
    process.stdout.write(`${name}: ${onA} sessions on A, ${echo} on B; drain, window ${runWindowMs} ms\n`);
    await new Promise((r) => setTimeout(r, 1000)); // the echo loop settles before the baseline is taken
    await echoer.request({ type: 'record' });
    const startMs = monoMs();
    await a.request({ type: 'drain' });
    const giveUp = startMs + runWindowMs + 60_000;
    for (;;) {
      const moved = await Promise.all(loaders.map((l) => l.request<{ moved: number }>({ type: 'moved' }, 120_000)));
      if (moved.reduce((n, m) => n + m.moved, 0) >= onA || monoMs() > giveUp) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const endMs = monoMs();
    const reports = await Promise.all(loaders.map((l) => l.request<ClientsReport>({ type: 'report' }, 60_000)));
    const echoReport = await echoer.request<ClientsReport>({ type: 'report' });
    const times = reports.flatMap((r) => r.reconnectedAt).map((t) => t - startMs);
    const buckets = new Array<number>(Math.ceil((endMs - startMs) / BUCKET_MS) + 1).fill(0);
    for (const t of times) buckets[Math.max(0, Math.floor(t / BUCKET_MS))]!++;
    const rates = buckets.map((n) => (n * 1000) / BUCKET_MS);
    const sorted = [...rates].sort((x, y) => x - y);
    const rtt = LogHistogram.from(echoReport.rtt).percentiles();
    return {
      name,
      windowMs: runWindowMs,
      sessions: onA,
      moved: times.length,
      failedAttempts: reports.reduce((n, r) => n + r.failedAttempts, 0),
      failures: Object.fromEntries(reports.flatMap((r) => Object.entries(r.failures))),
      closedFirst: reports.reduce((n, r) => n + r.closedFirst, 0),
      lastReconnectMs: Math.max(0, ...times),
      peakPerSecond: sorted.at(-1) ?? 0,
      p99PerSecond: sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] ?? 0,
      bucketsPer100ms: buckets,
      rttUs: { count: rtt.count, p50: rtt.p50, p99: rtt.p99, max: rtt.max },
      echoErrors: echoReport.echoErrors,
    };
  } finally {
    await Promise.all(children.map((c) => c.stop(10_000)));
  }
}

const backend = await new MockBackend({ mode: 'echo', maxRecordedPackets: 0 }).listen();
const machine = machineFacts();
const runs: DrainRun[] = [];
try {
  runs.push(await runOne('paced', windowMs, backend.endpoint));
  runs.push(await runOne('all at once', 0, backend.endpoint));
} finally {
  await backend.close();
}

const results = resolve(root, 'bench/results');
mkdirSync(results, { recursive: true });
const raw = { machine, sessions, windowMs, echo, echoIntervalMs, workers, runs };
writeFileSync(resolve(results, 'drain.json'), `${JSON.stringify(raw, null, 2)}\n`);
const svg = lineChart({
  title: `Reconnects at B per 100 ms while A drains ${sessions.toLocaleString('en-US')} sessions`,
  xLabel: 'seconds since drain()',
  yLabel: 'reconnects per 100 ms',
  series: runs.map((run) => ({
    name: run.windowMs === 0 ? 'all at once (window 0)' : `paced (window ${run.windowMs / 1000} s)`,
    points: run.bucketsPer100ms.map((n, i) => [(i * BUCKET_MS) / 1000, n] as const),
  })),
});
writeFileSync(resolve(results, 'drain-reconnects.svg'), svg);
const command = `npm run bench:drain${quick ? ' -- --quick' : ''}`;
const facts = { machine: describeMachine(machine), command, sessions, echo, echoIntervalMs, workers };
const section = renderSection(runs, facts);
process.stdout.write(`${section}\n`);
if (values['no-markdown'] !== true) {
  writeSection(resolve(root, 'BENCHMARKS.md'), 'drain', section, '# Benchmarks\n');
}
