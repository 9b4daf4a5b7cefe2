/**
 * The gateway under test for the tracing benchmark, alone in its process (its CPU read from /proc): actorgate from
 * dist/ with the `tracing` section given as JSON.
 *
 *   node --import tsx bench/tracing/gateway-process.ts --workers 1 --backend 127.0.0.1:7100 \
 *     --tracing '{"sampleRatio":1}'
 */
import { intFlag, parseFlags } from '../lib/args.ts';
import { BENCH_LIMITS } from '../lib/bench-limits.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';
import type { TracingOptions } from '../../src/core/options.ts';

export interface GatewayReady {
  pid: number;
  port: number;
}

const values = parseFlags(process.argv.slice(2), {
  workers: { type: 'string' },
  backend: { type: 'string' },
  tracing: { type: 'string', default: '{}' },
  source: { type: 'boolean', default: false },
});

const from = values.source ? '../../src/gateway.ts' : '../../dist/src/gateway.js';
const { startGateway } = (await import(from)) as typeof import('../../src/gateway.ts');
const gateway = await startGateway({
  name: 'bench',
  workers: intFlag(values, 'workers', 1, 64, 1),
  listen: { host: '127.0.0.1', port: 0 },
  admin: { port: null },
  push: { port: null },
  routes: [{ serverType: 1, endpoints: [values.backend!] }],
  limits: BENCH_LIMITS,
  log: { level: 'silent' },
  tracing: JSON.parse(values.tracing!) as Partial<TracingOptions>,
});

serveParent((request) => {
  throw new Error(`unknown request ${request.type}`);
}, () => gateway.close());

announceReady({ pid: process.pid, port: gateway.port } satisfies GatewayReady);
