/**
 * Where signature checks should run, measured: a reconnect storm's worth of JWT verifications (RS256, then ES256)
 * from `--workers` stand-ins for worker actors (bench/auth/storm-thread.ts), each keeping `--concurrency` checks in
 * flight, with the check placed three ways in the same run:
 *
 * - `loop`: on the worker's own event loop (no pool);
 * - `shared`: one piscina pool per process, fed over MessagePorts through the main thread (the gateway's design:
 *   src/supervisor/auth-pool.ts, auth-broker.ts, src/worker/auth-client.ts);
 * - `per-worker`: a piscina pool inside each worker, the same number of pool threads in all.
 *
 * Reported per placement: verifications per second, the verdict latency (p50, p99) and the p99 (and max) of the
 * workers' event-loop delay, which is what every live session of a worker waits behind; ratios are to `loop`.
 *
 *   npm run bench:auth [-- --quick] [-- --help]
 *
 * Writes bench/results/auth.json and the `auth-pool` section of BENCHMARKS.md.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { SignJWT } from 'jose';
import { resolveAuth } from '../../src/core/options-auth.ts';
import { AuthBroker } from '../../src/supervisor/auth-broker.ts';
import { AuthPool } from '../../src/supervisor/auth-pool.ts';
import { DRIVER_FLAGS, intFlag, parseFlags } from '../lib/args.ts';
import { LogHistogram } from '../lib/histogram.ts';
import { describeMachine, machineFacts } from '../lib/machine.ts';
import { fmt, ms, ratioOf, table, writeSection } from '../lib/markdown.ts';
import type { Placement, StormThreadData, StormThreadResult } from './storm-thread.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const HELP = `Usage: npm run bench:auth [-- options]

  --quick               shorter runs (2 s measured, 1 s warm-up)
  --seconds N           measured seconds per placement and algorithm (default 5)
  --warmup N            warm-up seconds before each (default 1)
  --workers N           worker stand-ins, each a thread with its own event loop (default 2)
  --concurrency N       verifications each worker keeps in flight (default 64)
  --pool-threads N      verification threads in total, for both pooled placements (default ${Math.max(2, Math.floor(availableParallelism() / 2))})
  --out FILE            raw results (default bench/results/auth.json)
  --markdown FILE       report section written into FILE (default BENCHMARKS.md); --no-markdown skips it
`;

const PLACEMENTS: readonly Placement[] = ['loop', 'shared', 'per-worker'];
const ALGORITHMS = ['RS256', 'ES256'] as const;

interface Row {
  alg: (typeof ALGORITHMS)[number];
  placement: Placement;
  perSecond: number;
  refused: number;
  latencyP50Us: number;
  latencyP99Us: number;
  loopDelayP99Us: number;
  loopDelayMaxUs: number;
  /** The main thread's loop delay p99 (the relay in `shared`; idle otherwise), microseconds. */
  mainDelayP99Us: number;
}

const values = parseFlags(
  process.argv.slice(2),
  {
    ...DRIVER_FLAGS,
    workers: { type: 'string' },
    concurrency: { type: 'string' },
    'pool-threads': { type: 'string' },
    out: { type: 'string', default: 'bench/results/auth.json' },
    markdown: { type: 'string', default: 'BENCHMARKS.md' },
  },
  HELP,
);
const quick = values.quick;
const measureMs = intFlag(values, 'seconds', 1, 600, quick ? 2 : 5) * 1000;
const warmupMs = intFlag(values, 'warmup', 0, 600, 1) * 1000;
const workers = intFlag(values, 'workers', 1, 64, 2);
const concurrency = intFlag(values, 'concurrency', 1, 10_000, 64);
const poolThreads = intFlag(values, 'pool-threads', 1, 256, Math.max(2, Math.floor(availableParallelism() / 2)));

/** Node 20 does not apply `--import tsx` to a worker's entry module: register it in the thread, then import. */
const threadBootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(
  new URL('./storm-thread.ts', import.meta.url).href,
)}); });`;

async function keyAndTokens(alg: (typeof ALGORITHMS)[number]): Promise<{ jwk: Record<string, unknown>; tokens: string[] }> {
  const { privateKey, publicKey } = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const exp = Math.floor(Date.now() / 1000) + 3600;
  // Distinct tokens, as distinct clients would bring.
  const tokens = await Promise.all(Array.from({ length: 512 }, (_, i) => new SignJWT({ sub: `user-${i}` }).setProtectedHeader({ alg, kid: 'k' }).setExpirationTime(exp).sign(privateKey)));
  return { jwk: { ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'k' }, tokens };
}

async function run(alg: Row['alg'], placement: Placement, jwk: Record<string, unknown>, tokens: string[]): Promise<Row> {
  const perWorkerThreads = Math.max(1, Math.floor(poolThreads / workers));
  const auth = resolveAuth({ poolThreads: placement === 'per-worker' ? perWorkerThreads : poolThreads, poolMaxQueue: 1_000_000, jwt: { keys: [{ jwk, algorithms: [alg] }] } })!;
  const broker = placement === 'shared' ? new AuthBroker(new AuthPool(auth, { level: 'silent', destination: 'stdout', maxBufferBytes: 1 << 20 })) : undefined;
  const mainDelay = monitorEventLoopDelay({ resolution: 1 });
  // Over the measured part only, as the workers measure theirs.
  const measureMain = setTimeout(() => mainDelay.enable(), warmupMs);
  const results = await Promise.all(
    Array.from({ length: workers }, (_, i) => {
      const port = broker?.connect();
      const workerData: StormThreadData = { placement, auth, tokens, concurrency, warmupMs, measureMs, ...(port ? { port } : {}) };
      const thread = new Worker(threadBootstrap, { eval: true, name: `storm-${i}`, workerData, transferList: port ? [port] : [] });
      return new Promise<StormThreadResult>((done, fail) => {
        thread.once('message', (result: StormThreadResult) => {
          done(result);
          void thread.terminate();
        });
        thread.once('error', fail);
      });
    }),
  );
  clearTimeout(measureMain);
  mainDelay.disable();
  await broker?.close(1000);
  const latency = new LogHistogram();
  for (const r of results) latency.merge(r.latency);
  return {
    alg,
    placement,
    perSecond: results.reduce((sum, r) => sum + r.verified, 0) / (measureMs / 1000),
    refused: results.reduce((sum, r) => sum + r.refused, 0),
    latencyP50Us: latency.quantile(0.5),
    latencyP99Us: latency.quantile(0.99),
    loopDelayP99Us: Math.max(...results.map((r) => r.loopDelayP99Us)),
    loopDelayMaxUs: Math.max(...results.map((r) => r.loopDelayMaxUs)),
    mainDelayP99Us: mainDelay.percentile(99) / 1000,
  };
}

const machine = machineFacts();
const rows: Row[] = [];
for (const alg of ALGORITHMS) {
  const { jwk, tokens } = await keyAndTokens(alg);
  for (const placement of PLACEMENTS) {
    const row = await run(alg, placement, jwk, tokens);
    rows.push(row);
    process.stderr.write(`${alg} ${placement}: ${fmt(row.perSecond)}/s, loop delay p99 ${ms(row.loopDelayP99Us)} ms\n`);
  }
}

const reference = (row: Row) => rows.find((r) => r.alg === row.alg && r.placement === 'loop')!;
const report = `## JWT verification placement (\`npm run bench:auth\`)

${describeMachine(machine)}. ${workers} worker stand-ins, ${concurrency} verifications in flight each, ${poolThreads} pool
threads in total for the pooled placements (${Math.max(1, Math.floor(poolThreads / workers))} per worker for per-worker), ${measureMs / 1000} s measured after ${warmupMs / 1000} s.

${table(
  ['alg', 'placement', 'verified/s', '× loop', 'latency p50 ms', 'p99 ms', 'worker loop delay p99 ms', '× loop', 'max ms', 'main loop p99 ms'],
  rows.map((row) => [
    row.alg,
    row.placement,
    fmt(row.perSecond),
    ratioOf(row.perSecond, reference(row).perSecond),
    ms(row.latencyP50Us),
    ms(row.latencyP99Us),
    ms(row.loopDelayP99Us),
    ratioOf(row.loopDelayP99Us, reference(row).loopDelayP99Us),
    ms(row.loopDelayMaxUs),
    ms(row.mainDelayP99Us),
  ]),
  ['left', 'left'],
)}
`;
process.stdout.write(`${report}\n`);
const out = resolve(root, values.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ machine, settings: { workers, concurrency, poolThreads, measureMs, warmupMs }, rows }, null, 2)}\n`);
process.stderr.write(`wrote ${relative(root, out)}\n`);
if (!values['no-markdown']) {
  writeSection(resolve(root, values.markdown), 'auth-pool', report, '# Benchmarks\n');
  process.stderr.write(`wrote the auth-pool section of ${values.markdown}\n`);
}
