/**
 * The benchmark's backend: `--count` grpc-js GameGateway servers in one process, each echoing every DATA packet to
 * its session. Leaner than the testkit's MockBackend: a batch of DATA comes back as the same decoded batch object
 * (grpc-js re-encodes it; nothing is copied or tagged here), and nothing is recorded. Each server can be stalled
 * (stops reading its streams, as a wedged backend does) and resumed on request.
 *
 *   node --import tsx bench/suite/echo-backend-process.ts [--count 2]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { gameGatewayService, PacketKind, type PacketBatch } from '../../src/backend/proto.ts';
import { applyFlowControlWindow } from '../../src/testkit/mock-backend-flow-control.ts';
import { intFlag, parseFlags } from '../lib/args.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';

export interface EchoBackendReady {
  pid: number;
  endpoints: string[];
}

/** The gateway's own HTTP/2 receive window (backend.flowControlWindowBytes); the backend matches it. */
const WINDOW_BYTES = 1024 * 1024;

type PacketStream = grpc.ServerDuplexStream<PacketBatch, PacketBatch>;

interface EchoServer {
  server: grpc.Server;
  endpoint: string;
  streams: Set<PacketStream>;
  stalled: boolean;
  packets: number;
}

const values = parseFlags(process.argv.slice(2), { count: { type: 'string' } });

function onBatch(echo: EchoServer, call: PacketStream, batch: PacketBatch): void {
  const packets = batch.packets;
  echo.packets += packets.length;
  let allData = true;
  for (let i = 0; i < packets.length; i++) if ((packets[i]!.kind ?? 0) !== PacketKind.DATA) allData = false;
  const reply = allData ? batch : { packets: packets.filter((p) => (p.kind ?? 0) === PacketKind.DATA) };
  if (reply.packets.length > 0 && !call.writableEnded && !call.destroyed) call.write(reply);
}

async function startServer(): Promise<EchoServer> {
  const server = new grpc.Server({ 'grpc-node.max_session_memory': 256 });
  const echo: EchoServer = { server, endpoint: '', streams: new Set(), stalled: false, packets: 0 };
  server.addService(gameGatewayService(), {
    StreamPackets: (call: PacketStream) => {
      echo.streams.add(call);
      if (echo.stalled) call.pause();
      call.on('data', (batch: PacketBatch) => onBatch(echo, call, batch));
      call.on('end', () => call.end());
      call.on('error', () => echo.streams.delete(call));
      call.on('close', () => echo.streams.delete(call));
    },
    NotifyConnect: (_call: unknown, done: grpc.sendUnaryData<object>) => done(null, {}),
    NotifyDisconnect: (_call: unknown, done: grpc.sendUnaryData<object>) => done(null, {}),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  // grpc-js applies its flow-control option to clients only: widen each server session's window as the testkit does.
  applyFlowControlWindow(server, WINDOW_BYTES);
  echo.endpoint = `127.0.0.1:${port}`;
  return echo;
}

/** How late this process's loop ran a 1 ms timer, since the last `loopDelay` request: the backend's share of a p99. */
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();

export interface BackendLoopDelay {
  /** µs late beyond the 1 ms period. */
  p50Us: number;
  p99Us: number;
  maxUs: number;
  samples: number;
}

const servers = await Promise.all(Array.from({ length: intFlag(values, 'count', 1, 16, 2) }, startServer));

function serverAt(index: unknown): EchoServer {
  const echo = servers[Number(index)];
  if (echo === undefined) throw new Error(`no echo server ${String(index)}`);
  return echo;
}

serveParent(
  (request) => {
    const body = request as unknown as { index?: number };
    switch (request.type) {
      case 'stall': {
        const echo = serverAt(body.index);
        echo.stalled = true;
        for (const call of echo.streams) call.pause();
        return {};
      }
      case 'resume': {
        const echo = serverAt(body.index);
        echo.stalled = false;
        for (const call of echo.streams) call.resume();
        return {};
      }
      case 'loopDelay': {
        const late = (ns: number) => Math.max(0, (ns - 1e6) / 1000);
        const answer: BackendLoopDelay = { p50Us: late(loop.percentile(50)), p99Us: late(loop.percentile(99)), maxUs: late(loop.max), samples: loop.count };
        loop.reset();
        return answer;
      }
      case 'stats':
        return { packets: servers.map((s) => s.packets), streams: servers.map((s) => s.streams.size) };
      default:
        throw new Error(`unknown request ${request.type}`);
    }
  },
  async () => {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.server.tryShutdown(() => resolve()))));
  },
);

announceReady({ pid: process.pid, endpoints: servers.map((s) => s.endpoint) } satisfies EchoBackendReady);
