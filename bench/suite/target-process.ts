/**
 * The server under test, alone in its own process so that its CPU time and RSS can be read from /proc apart from
 * the load generator's and the backend's: the bare uWS echo, the naive gateway, the floor relay, or actorgate.
 * Prints its port as one JSON line, then serves until the driver says stop or goes away.
 *
 *   node --import tsx bench/suite/target-process.ts --kind actorgate --workers 2 --backend 1=127.0.0.1:7100 ...
 */
import { parseInteger } from '../../src/cli/args.ts';
import { intFlag, parseFlags } from '../lib/args.ts';
import { BENCH_LIMITS } from '../lib/bench-limits.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';
import { startFloorRelay } from '../reference/floor-relay.ts';
import { startNaiveGateway } from '../reference/naive-gateway.ts';
import { startUwsEcho } from '../reference/uws-echo.ts';
import { TOPIC_PATTERN } from '../push/payload.ts';

export type TargetKind = 'uws-echo' | 'naive' | 'floor' | 'actorgate';

export interface TargetReady {
  pid: number;
  port: number;
  /** actorgate only: the admin port, for /metrics. */
  adminPort: number | null;
  /** actorgate with --push only: the GatewayPush gRPC port. */
  pushPort?: number | null;
}

const values = parseFlags(process.argv.slice(2), {
  kind: { type: 'string' },
  workers: { type: 'string' },
  backend: { type: 'string', multiple: true, default: [] },
  // actorgate from dist/ (compiled, as `npm start` and the published package run it) instead of from sources.
  dist: { type: 'boolean', default: false },
  // actorgate with its push port open and the benchmark topics (bench.*) allowed: the push-scale scenario.
  push: { type: 'boolean', default: false },
});

/** `--backend 1=host:port`: serverType 1 goes to host:port. */
const routes = new Map<number, string>(
  values.backend!.map((spec) => {
    const [serverType, endpoint] = spec.split('=');
    return [parseInteger(serverType!, '--backend'), endpoint!] as const;
  }),
);

let close: () => Promise<void>;
let ready: TargetReady;
switch (values.kind as TargetKind) {
  case 'uws-echo': {
    const echo = startUwsEcho();
    close = async () => echo.close();
    ready = { pid: process.pid, port: echo.port, adminPort: null };
    break;
  }
  case 'naive': {
    const naive = await startNaiveGateway({ routes });
    close = () => naive.close();
    ready = { pid: process.pid, port: naive.port, adminPort: null };
    break;
  }
  case 'floor': {
    const floor = await startFloorRelay({ routes });
    close = () => floor.close();
    ready = { pid: process.pid, port: floor.port, adminPort: null };
    break;
  }
  case 'actorgate': {
    const from = values.dist ? '../../dist/src/gateway.js' : '../../src/gateway.ts';
    const { startGateway } = (await import(from)) as typeof import('../../src/gateway.ts');
    const gateway = await startGateway({
      name: 'bench',
      workers: intFlag(values, 'workers', 1, 64, 2),
      listen: { host: '127.0.0.1', port: 0 },
      admin: { port: 0 },
      push: { port: values.push ? 0 : null },
      ...(values.push ? { topics: { allow: [TOPIC_PATTERN] } } : {}),
      routes: [...routes].map(([serverType, endpoint]) => ({ serverType, endpoints: [endpoint] })),
      limits: BENCH_LIMITS,
      log: { level: 'silent' },
    });
    close = () => gateway.close();
    ready = { pid: process.pid, port: gateway.port, adminPort: gateway.adminPort, pushPort: gateway.pushPort };
    break;
  }
  default:
    throw new Error(`--kind: expected uws-echo, naive, floor or actorgate, got ${String(values.kind)}`);
}

serveParent((request) => {
  throw new Error(`unknown request ${request.type}`);
}, close);

announceReady(ready);
