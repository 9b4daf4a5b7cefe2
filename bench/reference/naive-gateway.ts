/**
 * Reference (b): the gateway a user would write instead, the obvious way, kept as the baseline. One thread; the `ws`
 * package for clients; one grpc-js StreamPackets stream per backend, opened at start with grpc-js defaults; every
 * client message parsed, routed by serverType and written to the stream as its own one-packet PacketBatch; replies
 * looked up by session id and sent to the socket. No mailboxes, no batching, no backpressure: when a backend stops
 * reading, writes pile up inside grpc-js (that is the point of comparison in the isolation scenario).
 */
import { WebSocketServer, type WebSocket } from 'ws';
import * as grpc from '@grpc/grpc-js';
import { actorgateV1, PacketKind, type PacketBatch } from '../../src/backend/proto.ts';

export interface NaiveGateway {
  readonly port: number;
  close(): Promise<void>;
}

export interface NaiveGatewayOptions {
  host?: string;
  port?: number;
  /** serverType → backend endpoint (host:port). */
  routes: ReadonlyMap<number, string>;
}

const HEADER = 8;

export async function startNaiveGateway(options: NaiveGatewayOptions): Promise<NaiveGateway> {
  const sessions = new Map<string, WebSocket>();
  const streams = new Map<number, grpc.ClientDuplexStream<PacketBatch, PacketBatch>>();
  const clients: grpc.Client[] = [];
  const Client = actorgateV1().GameGateway;
  for (const [serverType, endpoint] of options.routes) {
    const client = new Client(endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      StreamPackets(metadata: grpc.Metadata): grpc.ClientDuplexStream<PacketBatch, PacketBatch>;
    };
    clients.push(client);
    const metadata = new grpc.Metadata();
    metadata.set('gate-name', 'naive/0');
    const stream = client.StreamPackets(metadata);
    stream.on('data', (batch: PacketBatch) => {
      for (const packet of batch.packets) {
        const ws = sessions.get(packet.sessionId ?? '');
        if (ws === undefined || packet.kind !== PacketKind.DATA) continue;
        const payload = packet.payload ?? new Uint8Array(0);
        const frame = Buffer.allocUnsafe(HEADER + payload.byteLength);
        frame.writeUInt16LE(payload.byteLength, 0);
        frame.writeUInt16LE(packet.msgId ?? 0, 2);
        frame.writeUInt32LE(packet.serverId ?? 0, 4);
        frame.set(payload, HEADER);
        ws.send(frame, { binary: true });
      }
    });
    stream.on('error', (err) => process.stderr.write(`naive gateway: stream to ${endpoint} failed: ${err.message}\n`));
    streams.set(serverType, stream);
  }

  const wss = new WebSocketServer({ host: options.host ?? '127.0.0.1', port: options.port ?? 0, maxPayload: 128 * 1024 });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  let nextSession = 1;
  wss.on('connection', (ws) => {
    const sessionId = String(nextSession++);
    sessions.set(sessionId, ws);
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary || data.length < HEADER || data.readUInt16LE(0) !== data.length - HEADER) return;
      const serverId = data.readUInt32LE(4);
      const stream = streams.get((serverId >>> 8) & 0xff);
      if (stream === undefined) return;
      stream.write({ packets: [{ sessionId, msgId: data.readUInt16LE(2), serverId, payload: data.subarray(HEADER), kind: PacketKind.DATA }] });
    });
    ws.on('close', () => {
      sessions.delete(sessionId);
      for (const stream of streams.values()) stream.write({ packets: [{ sessionId, kind: PacketKind.CLOSE }] });
    });
  });
  const address = wss.address();
  if (typeof address === 'string' || address === null) throw new Error('naive gateway: no port');
  return {
    port: address.port,
    close: async () => {
      for (const ws of sessions.values()) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const stream of streams.values()) stream.cancel();
      for (const client of clients) client.close();
    },
  };
}
