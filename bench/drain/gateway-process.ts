/**
 * One gateway of the drain benchmark in its own process: A (drained) or B (takes the reconnects). Prints its ports
 * as one JSON line; on `drain` starts `gateway.drain()` with the run's window and answers at once; on `progress`
 * answers `drainProgress()`; serves until the driver says stop or goes away.
 *
 *   node --import tsx bench/drain/gateway-process.ts --backend HOST:PORT [--window-ms 10000] [--workers 2]
 */
import { startGateway } from '../../src/gateway.ts';
import { intFlag, parseFlags } from '../lib/args.ts';
import { BENCH_LIMITS } from '../lib/bench-limits.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';

export interface DrainGatewayReady {
  pid: number;
  port: number;
  workers: number;
}

const values = parseFlags(process.argv.slice(2), {
  backend: { type: 'string' },
  'window-ms': { type: 'string' },
  workers: { type: 'string' },
});
const windowMs = intFlag(values, 'window-ms', 0, 600_000, 0);
if (values.backend === undefined) throw new Error('--backend is required');

const gateway = await startGateway({
  name: 'bench-drain',
  workers: intFlag(values, 'workers', 1, 64, 2),
  listen: { host: '127.0.0.1', port: 0 },
  admin: { port: null },
  push: { port: null },
  routes: [{ serverType: 1, endpoints: [values.backend] }],
  limits: { ...BENCH_LIMITS, maxConnectionsPerWorker: 100_000 },
  shutdown: { drainWindowMs: windowMs, drainTimeoutMs: windowMs + 20_000 },
  log: { level: 'silent' },
});

serveParent(
  (request) => {
    if (request.type === 'sessions') return { sessions: gateway.sessions };
    if (request.type === 'progress') return gateway.drainProgress();
    if (request.type === 'drain') {
      void gateway.drain();
      return gateway.drainProgress();
    }
    throw new Error(`unknown request ${request.type}`);
  },
  () => gateway.close(),
);

announceReady({ pid: process.pid, port: gateway.port, workers: gateway.config.workers } satisfies DrainGatewayReady);
