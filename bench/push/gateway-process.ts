/**
 * The gateway under test, alone in its own process so that its CPU time (all threads: supervisor, workers, gRPC and
 * HTTP servers) can be read from /proc without counting the publishers' or receivers' work. Prints its ports as one
 * JSON line, then serves until the driver says stop or goes away.
 *
 *   node --import tsx bench/push/gateway-process.ts [--workers 2]
 */
import { startGateway } from '../../src/gateway.ts';
import { intFlag, parseFlags } from '../lib/args.ts';
import { BENCH_LIMITS } from '../lib/bench-limits.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';
import { TOPIC_PATTERN } from './payload.ts';

/** What the gateway process announces. */
export interface GatewayReady {
  pid: number;
  port: number;
  adminPort: number;
  pushPort: number;
  workers: number;
}

const values = parseFlags(process.argv.slice(2), { workers: { type: 'string' } });

const gateway = await startGateway({
  name: 'bench',
  workers: intFlag(values, 'workers', 1, 64, 2),
  listen: { host: '127.0.0.1', port: 0 },
  admin: { port: 0 },
  push: { port: 0 },
  topics: { allow: [TOPIC_PATTERN] },
  limits: BENCH_LIMITS,
  log: { level: 'silent' },
});

serveParent(
  (request) => {
    if (request.type === 'sessions') return { sessions: gateway.sessions };
    throw new Error(`unknown request ${request.type}`);
  },
  () => gateway.close(),
);

const ready: GatewayReady = { pid: process.pid, port: gateway.port, adminPort: gateway.adminPort!, pushPort: gateway.pushPort!, workers: gateway.config.workers };
announceReady(ready);
