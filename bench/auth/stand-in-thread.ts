/**
 * One stand-in for a worker actor in the secondary, thread-only measurement of the authentication benchmark
 * (bench/auth/stand-ins.ts): it keeps `concurrency` verifications in flight for the whole run, the way a reconnect
 * storm keeps a worker's handshakes busy, and measures its own event loop meanwhile (perf_hooks), which is what every
 * session of a real worker would wait on.
 *
 * Where the check runs is the variable: `loop` verifies on this thread's loop (JwtVerifier, as if there were no
 * pool); `shared` posts to the process's pool over a MessagePort (AuthClient → AuthBroker → AuthPool: the gateway's
 * design); `per-worker` owns a piscina pool of its own.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { JwtVerifier } from '../../src/auth/jwt-verifier.ts';
import type { AuthVerdict } from '../../src/auth/auth-verdict.ts';
import type { ResolvedAuth } from '../../src/core/options-auth.ts';
import { WORKER_SLOTS } from '../../src/core/counters.ts';
import { AuthPool } from '../../src/supervisor/auth-pool.ts';
import { AuthClient } from '../../src/worker/auth-client.ts';
import { LogHistogram, type HistogramJSON } from '../lib/histogram.ts';

export type Placement = 'loop' | 'shared' | 'per-worker';

export interface StormThreadData {
  placement: Placement;
  auth: ResolvedAuth;
  tokens: string[];
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  /** `shared` only: this thread's port to the process's pool. */
  port?: MessagePort;
}

export interface StormThreadResult {
  verified: number;
  refused: number;
  /** Microseconds from posting a token to its verdict. */
  latency: HistogramJSON;
  /** The thread's event-loop delay over the measured part, microseconds. */
  loopDelayP99Us: number;
  loopDelayMaxUs: number;
}

const data = workerData as StormThreadData;

function verifier(): { verify(token: string, done: (verdict: AuthVerdict) => void): void; close(): Promise<void> | void } {
  switch (data.placement) {
    case 'loop': {
      const jwt = new JwtVerifier(data.auth.jwt!);
      jwt.start();
      return { verify: (token, done) => void jwt.verify(token).then(done), close: () => jwt.close() };
    }
    case 'shared': {
      const client = new AuthClient(data.port!, 60_000, new Float64Array(WORKER_SLOTS));
      return { verify: (token, done) => client.verify({ token }, done), close: () => client.close() };
    }
    case 'per-worker': {
      const pool = new AuthPool(data.auth, { level: 'silent', destination: 'stdout', maxBufferBytes: 1 << 20 });
      let id = 0;
      return { verify: (token, done) => void pool.verify({ id: id++, token }).then(done), close: () => pool.close(1000) };
    }
  }
}

const target = verifier();
const latency = new LogHistogram();
const delay = monitorEventLoopDelay({ resolution: 1 });
let measuring = false;
let stopped = false;
let verified = 0;
let refused = 0;
let next = 0;

function one(): void {
  if (stopped) return;
  const started = performance.now();
  target.verify(data.tokens[next++ % data.tokens.length]!, (verdict) => {
    if (measuring) {
      latency.record((performance.now() - started) * 1000);
      if (verdict.ok) verified++;
      else refused++;
    }
    one();
  });
}

delay.enable();
for (let i = 0; i < data.concurrency; i++) one();
setTimeout(() => {
  measuring = true;
  delay.reset();
  setTimeout(async () => {
    measuring = false;
    stopped = true;
    delay.disable();
    const result: StormThreadResult = {
      verified,
      refused,
      latency: latency.toJSON(),
      loopDelayP99Us: delay.percentile(99) / 1000,
      loopDelayMaxUs: delay.max / 1000,
    };
    await target.close();
    parentPort!.postMessage(result);
  }, data.measureMs);
}, data.warmupMs);
