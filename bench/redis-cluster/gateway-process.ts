/**
 * The gateway under test, in its own process: Redis fan-out through a standalone server (`--redis URL`) or a Redis
 * Cluster (`--redis-cluster host:port,...`). Prints its ports as one JSON line, then serves until the driver says stop.
 */
import { startGateway } from '../../src/gateway.ts';
import { intFlag, parseFlags } from '../lib/args.ts';
import { BENCH_LIMITS } from '../lib/bench-limits.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';

export interface GatewayReady {
  pid: number;
  port: number;
  workers: number;
}

const values = parseFlags(process.argv.slice(2), { workers: { type: 'string' }, redis: { type: 'string' }, 'redis-cluster': { type: 'string' } });
const cluster = values['redis-cluster'];
const gateway = await startGateway({
  name: 'bench-redis',
  nodeId: 1,
  workers: intFlag(values, 'workers', 1, 64, 2),
  listen: { host: '127.0.0.1', port: 0 },
  admin: { port: null },
  push: { port: null },
  topics: { allow: ['bench.*'] },
  limits: BENCH_LIMITS,
  log: { level: 'silent' },
  redis: cluster === undefined ? { url: values.redis! } : { cluster: cluster.split(',') },
});

serveParent(
  () => {
    throw new Error('no requests');
  },
  () => gateway.close(),
);

announceReady({ pid: process.pid, port: gateway.port, workers: gateway.config.workers } satisfies GatewayReady);
