/**
 * Authentication under a reconnect storm, against a real gateway: while `--sessions` established sessions echo at a
 * steady rate, storm clients open and close upgrades with fresh RS256, then ES256, tokens as fast as the gateway takes
 * them, with JWT verification on the process's pool (auth.verifyOn 'pool', the design) and on each worker's own loop
 * ('worker'), both in the same run. Reported per placement: upgrades/s, refused upgrades by code, the established
 * sessions' round-trip p50/p99 during the storm and at rest, and the workers' event-loop delay p99 from the gateway's
 * own metric (actorgate_worker_event_loop_delay_seconds).
 *
 * "As fast as the gateway takes them" is found by ramping: a closed loop of N connectors (each starts its next
 * upgrade when the last one is answered, and waits out a Retry-After), N stepped through `--connectors`; the step with
 * the most upgrades per second is the placement's peak. Every party runs in its own process (the gateway from dist/,
 * the echo backend, the sessions, the storm), so /proc gives each its CPU. Both placements' gateways run side by side,
 * each with its own sessions (paused while the other gateway is measured), and every step runs on both back to back,
 * the order alternating from step to step.
 *
 *   npm run bench:auth [-- --quick] [-- --help]
 *
 * Writes bench/results/auth.json and the `auth-pool` section of BENCHMARKS.md.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { DRIVER_FLAGS, intFlag, parseFlags } from '../lib/args.ts';
import { LogHistogram } from '../lib/histogram.ts';
import { BenchChild } from '../lib/child-process.ts';
import { machineFacts } from '../lib/machine.ts';
import { writeSection } from '../lib/markdown.ts';
import { machineCpu, processCpuUs } from '../lib/proc-stat.ts';
import { scrapeMetrics } from '../lib/prometheus.ts';
import type { EchoBackendReady } from '../suite/echo-backend-process.ts';
import type { AuthGatewayReady } from './gateway-process.ts';
import { renderReport } from './report.ts';
import { bucketQuantileUs, loopDelayBuckets, pool, type Cpu, type Pooled, type VerifyOn, type Window } from './results.ts';
import type { SessionsMark, SessionsReady } from './sessions-process.ts';
import { runStandIns, type StandInRow } from './stand-ins.ts';
import type { StormMark } from './storm-process.ts';
import { ALGORITHMS, writeTokens, type Algorithm } from './tokens.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const HELP = `Usage: npm run bench:auth [-- options]

  --quick               a smoke run, under a minute: 1 round, connectors 32 and 256, 1.5 s windows, no stand-ins
  --rounds N            rounds of the whole ramp, each step on both placements back to back (default 2)
  --seconds N           measured seconds per step (default 4)
  --warmup N            seconds at each step before it is measured (default 1)
  --connectors LIST     comma-separated storm concurrencies to ramp through (default 8,32,128,512)
  --sessions N          established sessions that echo meanwhile (default 1000)
  --rate N              messages per second per established session (default 5)
  --workers N           gateway worker threads (default 2)
  --tokens N            distinct storm tokens per algorithm (default 2000)
  --skip-stand-ins      skip the secondary measurement with stand-in threads (no gateway)
  --out FILE            raw results (default bench/results/auth.json)
  --markdown FILE       report section written into FILE (default BENCHMARKS.md); --no-markdown skips it
`;

const values = parseFlags(
  process.argv.slice(2),
  {
    ...DRIVER_FLAGS,
    rounds: { type: 'string' },
    connectors: { type: 'string' },
    sessions: { type: 'string' },
    rate: { type: 'string' },
    workers: { type: 'string' },
    tokens: { type: 'string' },
    'skip-stand-ins': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/auth.json' },
    markdown: { type: 'string', default: 'BENCHMARKS.md' },
  },
  HELP,
);
const quick = values.quick!;
const settings = {
  rounds: intFlag(values, 'rounds', 1, 10, quick ? 1 : 2),
  measureMs: values.seconds === undefined && quick ? 1500 : intFlag(values, 'seconds', 1, 120, 4) * 1000,
  warmupMs: intFlag(values, 'warmup', 0, 60, 1) * 1000,
  connectors: (values.connectors ?? (quick ? '32,256' : '8,32,128,512')).split(',').map((n) => intFlag({ connectors: n }, 'connectors', 1, 4000)),
  sessions: intFlag(values, 'sessions', 1, 10_000, 1000),
  rate: intFlag(values, 'rate', 1, 1000, 5),
  workers: intFlag(values, 'workers', 1, 64, 2),
  tokens: intFlag(values, 'tokens', 1, 100_000, quick ? 500 : 2000),
  standIns: !quick && !values['skip-stand-ins'],
};
/** Pause after a step, so the storm's last connections have closed before the next window. */
const SETTLE_MS = 500;

if (!existsSync(resolve(root, 'dist/src/gateway.js'))) throw new Error('dist/ is missing: run `npm run build` first (the gateway runs compiled)');

const machine = machineFacts();
const started = performance.now();
const work = mkdtempSync(join(tmpdir(), 'actorgate-bench-auth-'));
const tokenPath = join(work, 'tokens.json');
process.stderr.write(`signing ${settings.sessions} session tokens and ${settings.tokens} storm tokens per algorithm...\n`);
await writeTokens(tokenPath, settings.sessions, settings.tokens);

const echo = new BenchChild<EchoBackendReady>('echo', resolve(root, 'bench/suite/echo-backend-process.ts'), ['--count', '1']);
const { endpoints } = await echo.ready;

interface Reading {
  storm: StormMark | undefined;
  sessions: SessionsMark;
  loop: Map<string, number[]>;
  cpu: Cpu;
}

async function read(gateway: AuthGatewayReady, sessions: BenchChild<SessionsReady>, storm: BenchChild<{ pid: number }> | undefined, stormPid: number): Promise<Reading> {
  const [stormMark, sessionsMark, samples] = await Promise.all([
    storm?.request<StormMark>({ type: 'mark' }),
    sessions.request<SessionsMark>({ type: 'mark' }),
    scrapeMetrics(`http://127.0.0.1:${gateway.adminPort}/metrics`),
  ]);
  return {
    storm: stormMark,
    sessions: sessionsMark,
    loop: loopDelayBuckets(samples),
    cpu: { gateway: processCpuUs(gateway.pid), storm: processCpuUs(stormPid), sessions: processCpuUs(sessions.pid), echo: processCpuUs(echo.pid), machineBusy: machineCpu().busyUs },
  };
}

interface Rig {
  placement: VerifyOn;
  gatewayChild: BenchChild<AuthGatewayReady>;
  gateway: AuthGatewayReady;
  sessions: BenchChild<SessionsReady>;
}

/** A gateway with the placement and its established sessions, which are left paused. */
async function startRig(placement: VerifyOn): Promise<Rig> {
  const gatewayChild = new BenchChild<AuthGatewayReady>(`gateway-${placement}`, resolve(here, 'gateway-process.ts'), [
    '--verify-on',
    placement,
    '--workers',
    String(settings.workers),
    '--backend',
    endpoints[0]!,
    '--tokens',
    tokenPath,
  ]);
  const gateway = await gatewayChild.ready;
  const sessions = new BenchChild<SessionsReady>(
    `sessions-${placement}`,
    resolve(here, 'sessions-process.ts'),
    ['--port', String(gateway.port), '--tokens', tokenPath, '--sessions', String(settings.sessions), '--rate', String(settings.rate)],
    { readyTimeoutMs: 120_000 },
  );
  await sessions.ready;
  await sessions.request({ type: 'pause' });
  return { placement, gatewayChild, gateway, sessions };
}

/** One window: the rig's sessions echo (and, with `alg`, the storm runs) through the warm-up and the measured part. */
async function step(rig: Rig, storm: BenchChild<{ pid: number }>, round: number, alg: Algorithm | null, connectors: number): Promise<Window> {
  const { placement, gateway, sessions } = rig;
  await sessions.request({ type: 'resume' });
  if (alg !== null) await storm.request({ type: 'start', port: gateway.port, alg, concurrency: connectors });
  await sleep(settings.warmupMs);
  const before = await read(gateway, sessions, alg === null ? undefined : storm, storm.pid);
  await sleep(settings.measureMs);
  const after = await read(gateway, sessions, alg === null ? undefined : storm, storm.pid);
  if (alg !== null) await storm.request({ type: 'halt' }, 30_000);
  await sessions.request({ type: 'pause' });
  const workers = [...after.loop.keys()].sort();
  const byWorker = workers.map((w) => after.loop.get(w)!.map((v, i) => v - (before.loop.get(w)?.[i] ?? 0)));
  const s = after.sessions;
  const window: Window = {
    placement,
    round,
    alg,
    connectors: alg === null ? 0 : connectors,
    elapsedMs: s.elapsedMs,
    upgraded: after.storm?.upgraded ?? 0,
    refused: after.storm?.refused ?? {},
    failed: after.storm?.failed ?? 0,
    upgradeLatency: after.storm?.latency ?? { buckets: [], count: 0, min: 0, max: 0, sum: 0 },
    sessionLatency: s.latency,
    sessionsSent: s.sent,
    sessionsBehind: s.behind,
    sessionErrors: s.errors,
    sessionsClosed: s.closed,
    loopDelay: byWorker.reduce((sum, b) => sum.map((v, i) => v + b[i]!), byWorker[0]!.map(() => 0)),
    loopDelayByWorker: byWorker,
    cpuUs: {
      gateway: after.cpu.gateway - before.cpu.gateway,
      storm: after.cpu.storm - before.cpu.storm,
      sessions: after.cpu.sessions - before.cpu.sessions,
      echo: after.cpu.echo - before.cpu.echo,
      machineBusy: after.cpu.machineBusy - before.cpu.machineBusy,
    },
  };
  const p = pool([window]);
  process.stderr.write(
    `  round ${round + 1} ${placement} ${alg ?? 'rest'}${alg === null ? '' : ` ×${connectors}`}: ${Math.round(p.upgradesPerSecond)} upgrades/s, refused ${JSON.stringify(p.refused)}, ` +
      `sessions p99 ${(LogHistogram.from(p.sessionLatency).quantile(0.99) / 1000).toFixed(2)} ms, loop p99 ${(bucketQuantileUs(p.loopDelay, 0.99) / 1000).toFixed(2)} ms, ` +
      `gateway ${p.cores.gateway.toFixed(2)} cores, machine ${p.cores.machineBusy.toFixed(2)}, other ${p.cores.other.toFixed(2)}, session errors ${JSON.stringify(p.sessionErrors)}\n`,
  );
  if (alg !== null) await sleep(SETTLE_MS);
  return window;
}

const windows: Window[] = [];
let standIns: StandInRow[] = [];
try {
  const rigs: Rig[] = [];
  const storm = new BenchChild<{ pid: number }>('storm', resolve(here, 'storm-process.ts'), ['--tokens', tokenPath]);
  try {
    for (const placement of ['pool', 'worker'] as const) rigs.push(await startRig(placement));
    await storm.ready;
    // Side by side: every step runs on both gateways back to back, the order alternating from step to step and round
    // to round, so a noisy neighbour's bursts fall on both placements alike.
    const plan: [Algorithm | null, number][] = [[null, 0], ...ALGORITHMS.flatMap((alg) => settings.connectors.map((n) => [alg, n] as [Algorithm, number]))];
    let turn = 0;
    for (let round = 0; round < settings.rounds; round++) {
      for (const [alg, connectors] of plan) {
        const order = turn++ % 2 === 0 ? rigs : [...rigs].reverse();
        for (const rig of order) windows.push(await step(rig, storm, round, alg, connectors));
      }
    }
  } finally {
    await storm.stop();
    for (const rig of rigs) {
      await rig.sessions.stop();
      await rig.gatewayChild.stop(15_000);
    }
  }
  if (settings.standIns) {
    process.stderr.write('stand-in threads (no gateway):\n');
    standIns = await runStandIns({ workers: settings.workers, concurrency: 64, poolThreads: Math.max(2, Math.floor(availableParallelism() / 2)), measureMs: 5000, warmupMs: 1000 });
  }
} finally {
  await echo.stop();
  rmSync(work, { recursive: true, force: true });
}

const steps = new Map<string, Window[]>();
for (const w of windows) {
  const key = `${w.placement} ${w.alg ?? 'rest'} ${w.connectors}`;
  steps.set(key, [...(steps.get(key) ?? []), w]);
}
const pooled: Pooled[] = [...steps.values()].map(pool);
const elapsedS = Math.round((performance.now() - started) / 1000);
// The flags that change what is measured, for the command the report names.
const args = process.argv.slice(2).filter((a, i, all) => !['--no-markdown', '--out', '--markdown'].includes(a) && !['--out', '--markdown'].includes(all[i - 1] ?? ''));
const report = renderReport({ machine, settings, pooled, standIns, elapsedS, args });
process.stdout.write(`${report}\n`);
const out = resolve(root, values.out!);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ machine, settings, elapsedS, pooled, windows, standIns }, null, 2)}\n`);
process.stderr.write(`wrote ${relative(root, out)}\n`);
if (!values['no-markdown']) {
  writeSection(resolve(root, values.markdown!), 'auth-pool', report, '# Benchmarks\n');
  process.stderr.write(`wrote the auth-pool section of ${values.markdown}\n`);
}
