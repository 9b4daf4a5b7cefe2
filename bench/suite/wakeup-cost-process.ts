/**
 * What one event-loop turn costs on this machine, measured on the thread itself: a 1 ms timer that does nothing, and
 * the same timer writing one small PacketBatch per turn on a grpc-js StreamPackets stream (the echo backend answers
 * each). At moderate rates a gateway worker runs about one such turn per client burst, so this per-turn cost, not
 * the per-message cost, sets its CPU per message there.
 *
 *   node --import tsx bench/suite/wakeup-cost-process.ts --endpoint 127.0.0.1:7100 [--seconds 3]
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { actorgateV1, PacketKind, type PacketBatch } from '../../src/backend/proto.ts';
import { intFlag, parseFlags } from '../lib/args.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';
import { clockTicksPerSecond } from '../lib/proc-stat.ts';

export interface WakeupCost {
  /** Turns per second the timer aimed at (one per millisecond). */
  turnsPerSecond: number;
  /** Main-thread CPU per turn, µs: the idle timer alone. */
  idleTurnUs: number;
  /** Main-thread CPU per turn, µs, writing one batch of `packetsPerBatch` and reading its echo. */
  grpcTurnUs: number;
  packetsPerBatch: number;
  /** Echoed packets received (a check that the stream worked). */
  echoed: number;
}

const values = parseFlags(process.argv.slice(2), { endpoint: { type: 'string' }, seconds: { type: 'string' } });
const endpoint = values.endpoint;
if (endpoint === undefined) throw new Error('--endpoint is required');
const seconds = intFlag(values, 'seconds', 1, 120, 3);

/** CPU time of this process's main thread so far, µs (its thread id is the pid). */
function mainThreadUs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicksPerSecond();
}

/** Runs `turn` once per timer tick (1 ms) for `seconds`; main-thread CPU µs per tick. */
function perTurn(turn: () => void, seconds: number): Promise<number> {
  return new Promise((resolve) => {
    const from = mainThreadUs();
    const start = performance.now();
    let turns = 0;
    const tick = () => {
      turn();
      turns++;
      if (performance.now() - start < seconds * 1000) setTimeout(tick, 1);
      else resolve((mainThreadUs() - from) / turns);
    };
    tick();
  });
}

async function measure(): Promise<WakeupCost> {
  const Client = actorgateV1().GameGateway;
  const client = new Client(endpoint!, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0 }) as unknown as grpc.Client & {
    StreamPackets(metadata: grpc.Metadata): grpc.ClientDuplexStream<PacketBatch, PacketBatch>;
  };
  const metadata = new grpc.Metadata();
  metadata.set('gate-name', 'wakeup-cost/0');
  const call = client.StreamPackets(metadata);
  let echoed = 0;
  call.on('data', (batch: PacketBatch) => (echoed += batch.packets.length));
  call.on('error', () => {});
  const packetsPerBatch = 2;
  const payload = Buffer.alloc(32);
  const batch: PacketBatch = {
    packets: Array.from({ length: packetsPerBatch }, () => ({ sessionId: '1234567890123456789', msgId: 1, serverId: 1 << 8, payload, kind: PacketKind.DATA })),
  };
  // A short run of each first: connection set-up and first-use compilation are not what is measured.
  await perTurn(() => call.write(batch), 1);
  await perTurn(() => {}, 0.5);
  const idleTurnUs = await perTurn(() => {}, seconds);
  const grpcTurnUs = await perTurn(() => call.write(batch), seconds);
  call.end();
  client.close();
  return { turnsPerSecond: 1000, idleTurnUs, grpcTurnUs, packetsPerBatch, echoed };
}

serveParent(
  (request) => {
    if (request.type === 'measure') return measure();
    throw new Error(`unknown request ${request.type}`);
  },
  async () => {},
);

announceReady({ pid: process.pid });
