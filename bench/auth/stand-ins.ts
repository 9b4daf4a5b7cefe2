/**
 * The secondary measurement of the authentication benchmark: verification placement with stand-in threads, no
 * gateway. `workers` threads (bench/auth/stand-in-thread.ts) each keep `concurrency` JWT verifications in flight, with
 * the check placed three ways: `loop`, on the thread's own event loop; `shared`, one piscina pool per process fed over
 * MessagePorts through the main thread (the gateway's design: AuthClient → AuthBroker → AuthPool); `per-worker`, a
 * pool inside each thread, the same number of pool threads in all. It isolates the verifier from everything else a
 * gateway does, and is the only place `per-worker` is measured.
 */
import { generateKeyPairSync } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { SignJWT } from 'jose';
import { resolveAuth } from '../../src/core/options-auth.ts';
import { AuthBroker } from '../../src/supervisor/auth-broker.ts';
import { AuthPool } from '../../src/supervisor/auth-pool.ts';
import { LogHistogram } from '../lib/histogram.ts';
import { fmt, ms, ratioOf, table } from '../lib/markdown.ts';
import type { Placement, StormThreadData, StormThreadResult } from './stand-in-thread.ts';
import { ALGORITHMS, type Algorithm } from './tokens.ts';

export interface StandInSettings {
  workers: number;
  concurrency: number;
  poolThreads: number;
  measureMs: number;
  warmupMs: number;
}

export interface StandInRow {
  alg: Algorithm;
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

const PLACEMENTS: readonly Placement[] = ['loop', 'shared', 'per-worker'];

/** Node 20 does not apply `--import tsx` to a worker's entry module: register it in the thread, then import. */
const threadBootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(
  new URL('./stand-in-thread.ts', import.meta.url).href,
)}); });`;

async function keyAndTokens(alg: Algorithm): Promise<{ jwk: Record<string, unknown>; tokens: string[] }> {
  const { privateKey, publicKey } = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const exp = Math.floor(Date.now() / 1000) + 3600;
  // Distinct tokens, as distinct clients would bring.
  const tokens = await Promise.all(Array.from({ length: 512 }, (_, i) => new SignJWT({ sub: `user-${i}` }).setProtectedHeader({ alg, kid: 'k' }).setExpirationTime(exp).sign(privateKey)));
  return { jwk: { ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'k' }, tokens };
}

async function run(s: StandInSettings, alg: Algorithm, placement: Placement, jwk: Record<string, unknown>, tokens: string[]): Promise<StandInRow> {
  const perWorkerThreads = Math.max(1, Math.floor(s.poolThreads / s.workers));
  const auth = resolveAuth({ poolThreads: placement === 'per-worker' ? perWorkerThreads : s.poolThreads, poolMaxQueue: 1_000_000, jwt: { keys: [{ jwk, algorithms: [alg] }] } })!;
  const broker = placement === 'shared' ? new AuthBroker(new AuthPool(auth, { level: 'silent', destination: 'stdout', maxBufferBytes: 1 << 20 })) : undefined;
  const mainDelay = monitorEventLoopDelay({ resolution: 1 });
  // Over the measured part only, as the threads measure theirs.
  const measureMain = setTimeout(() => mainDelay.enable(), s.warmupMs);
  const results = await Promise.all(
    Array.from({ length: s.workers }, (_, i) => {
      const port = broker?.connect();
      const workerData: StormThreadData = { placement, auth, tokens, concurrency: s.concurrency, warmupMs: s.warmupMs, measureMs: s.measureMs, ...(port ? { port } : {}) };
      const thread = new Worker(threadBootstrap, { eval: true, name: `stand-in-${i}`, workerData, transferList: port ? [port] : [] });
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
    perSecond: results.reduce((sum, r) => sum + r.verified, 0) / (s.measureMs / 1000),
    refused: results.reduce((sum, r) => sum + r.refused, 0),
    latencyP50Us: latency.quantile(0.5),
    latencyP99Us: latency.quantile(0.99),
    loopDelayP99Us: Math.max(...results.map((r) => r.loopDelayP99Us)),
    loopDelayMaxUs: Math.max(...results.map((r) => r.loopDelayMaxUs)),
    mainDelayP99Us: mainDelay.percentile(99) / 1000,
  };
}

export async function runStandIns(settings: StandInSettings): Promise<StandInRow[]> {
  const rows: StandInRow[] = [];
  for (const alg of ALGORITHMS) {
    const { jwk, tokens } = await keyAndTokens(alg);
    for (const placement of PLACEMENTS) {
      const row = await run(settings, alg, placement, jwk, tokens);
      rows.push(row);
      process.stderr.write(`  stand-ins ${alg} ${placement}: ${fmt(row.perSecond)}/s, loop delay p99 ${ms(row.loopDelayP99Us)} ms\n`);
    }
  }
  return rows;
}

export function standInTable(rows: readonly StandInRow[]): string {
  const reference = (row: StandInRow) => rows.find((r) => r.alg === row.alg && r.placement === 'loop');
  return table(
    ['alg', 'placement', 'verified/s', '× loop', 'latency p50 ms', 'p99 ms', 'thread loop delay p99 ms', '× loop', 'max ms', 'main loop p99 ms'],
    rows.map((row) => [
      row.alg,
      row.placement,
      fmt(row.perSecond),
      ratioOf(row.perSecond, reference(row)?.perSecond),
      ms(row.latencyP50Us),
      ms(row.latencyP99Us),
      ms(row.loopDelayP99Us),
      ratioOf(row.loopDelayP99Us, reference(row)?.loopDelayP99Us),
      ms(row.loopDelayMaxUs),
      ms(row.mainDelayP99Us),
    ]),
    ['left', 'left'],
  );
}
