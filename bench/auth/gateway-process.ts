/**
 * The gateway of the authentication benchmark, from dist/ (compiled workers, as `actorgate start` runs), alone in its
 * own process so that its CPU can be read from /proc. JWT authentication with the run's RS256 and ES256 keys,
 * verified where `--verify-on` says (auth.verifyOn: the process's pool, or each worker's own loop); every other auth
 * setting at its default (auth.maxPendingPerWorker 256, auth.poolMaxQueue 1024, auth.poolThreads cores/2). The
 * per-address limits are off (BENCH_LIMITS): the storm comes from one address, and at the defaults
 * (limits.maxConnectionsPerIp 1000, limits.upgradesPerSecondPerIp 200) it would be refused with 429 instead of
 * measured; the process-wide limits keep their defaults (limits.upgradesPerSecond is off by default).
 *
 *   node --import tsx bench/auth/gateway-process.ts --verify-on pool --backend 127.0.0.1:7100 --tokens FILE
 */
import { readFileSync } from 'node:fs';
import { intFlag, parseFlags } from '../lib/args.ts';
import { BENCH_LIMITS } from '../lib/bench-limits.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';
import type { TokenFile } from './tokens.ts';

export interface AuthGatewayReady {
  pid: number;
  port: number;
  adminPort: number;
  poolThreads: number;
}

const values = parseFlags(process.argv.slice(2), {
  'verify-on': { type: 'string' },
  workers: { type: 'string' },
  backend: { type: 'string' },
  tokens: { type: 'string' },
});
const verifyOn = values['verify-on'];
if (verifyOn !== 'pool' && verifyOn !== 'worker') throw new Error(`--verify-on: expected pool or worker, got ${String(verifyOn)}`);
const { keys } = JSON.parse(readFileSync(values.tokens!, 'utf8')) as TokenFile;

const { startGateway } = (await import('../../dist/src/gateway.js' as string)) as typeof import('../../src/gateway.ts');
const gateway = await startGateway({
  name: 'bench-auth',
  workers: intFlag(values, 'workers', 1, 64, 2),
  listen: { host: '127.0.0.1', port: 0 },
  admin: { port: 0 },
  push: { port: null },
  routes: [{ serverType: 1, endpoints: [values.backend!] }],
  limits: BENCH_LIMITS,
  auth: { verifyOn, jwt: { keys } },
  log: { level: 'silent' },
});

serveParent((request) => {
  throw new Error(`unknown request ${request.type}`);
}, () => gateway.close());

announceReady({ pid: process.pid, port: gateway.port, adminPort: gateway.adminPort!, poolThreads: gateway.config.auth!.poolThreads } satisfies AuthGatewayReady);
