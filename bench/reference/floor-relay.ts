/**
 * Reference (c): the floor, the leanest WebSocket → gRPC relay uWS and grpc-js allow, with none of a gateway's
 * duties. One uWS thread; one StreamPackets stream per backend with the gateway's own PacketBatch codec; a client
 * message becomes a packet in its backend's pending batch, written at most once per loop turn (flushed from
 * setImmediate) and only once grpc-js has written the one before: without that, a batch per turn of one message
 * each left the echo backend so many batches under an open-loop load that replies queued for seconds (measured
 * here). Replies are framed and sent corked, one cork per run of packets for one session. No actors, no mailboxes,
 * no checks beyond the frame's length field, no backpressure, no OPEN/CLOSE bookkeeping. What actorgate costs beyond
 * this is the price of its guarantees, not of uWS or grpc-js.
 */
import * as grpc from '@grpc/grpc-js';
import uWS from 'uWebSockets.js';
import { encodePacketBatch, decodePacketBatch } from '../../src/backend/packet-codec.ts';
import { actorgateV1 } from '../../src/backend/proto.ts';
import { dataPacket, type StreamBatch, type StreamPacket } from '../../src/backend/stream-packet.ts';

export interface FloorRelay {
  readonly port: number;
  close(): Promise<void>;
}

export interface FloorRelayOptions {
  host?: string;
  port?: number;
  /** serverType → backend endpoint (host:port). */
  routes: ReadonlyMap<number, string>;
}

const HEADER = 8;

interface Lane {
  stream: grpc.ClientDuplexStream<StreamBatch, StreamBatch>;
  pending: StreamPacket[];
  pendingBytes: number;
  /** A batch is with grpc-js and not yet written: the next waits for it (see the module's comment). */
  writing: boolean;
  written: () => void;
}

/**
 * A batch is written early once its payloads pass this: grpc-js refuses a message over 4 MiB by default (and the
 * echo comes back as one), and a turn can read more than that from 64 clients of 16 KiB messages.
 */
const MAX_BATCH_BYTES = 1024 * 1024;

interface Session {
  id: number;
}

export async function startFloorRelay(options: FloorRelayOptions): Promise<FloorRelay> {
  const sockets = new Map<number, uWS.WebSocket<Session>>();
  const lanes = new Map<number, Lane>();
  const clients: grpc.Client[] = [];
  const path = actorgateV1().GameGateway.service.StreamPackets!.path;
  let closing = false;

  // One reused frame buffer, and the run being sent inside one cork (no closure per packet).
  let frame = Buffer.allocUnsafe(64 * 1024);
  let run: StreamPacket[] = [];
  let runFrom = 0;
  let runTo = 0;
  let runSocket: uWS.WebSocket<Session> | undefined;
  const sendRun = () => {
    for (let i = runFrom; i < runTo; i++) {
      const p = run[i]!;
      const size = HEADER + p.payload.byteLength;
      if (size > frame.length) frame = Buffer.allocUnsafe(2 * size);
      frame.writeUInt16LE(p.payload.byteLength, 0);
      frame.writeUInt16LE(p.msgId, 2);
      frame.writeUInt32LE(p.serverId >>> 0, 4);
      frame.set(p.payload, HEADER);
      runSocket!.send(frame.subarray(0, size), true);
    }
  };
  const onBatch = (batch: StreamBatch) => {
    const packets = batch.packets;
    run = packets;
    let i = 0;
    while (i < packets.length) {
      const id = packets[i]!.idLo;
      let j = i + 1;
      while (j < packets.length && packets[j]!.idLo === id) j++;
      const ws = sockets.get(id);
      if (ws !== undefined) {
        runSocket = ws;
        runFrom = i;
        runTo = j;
        ws.cork(sendRun);
      }
      i = j;
    }
    runSocket = undefined;
  };

  for (const [serverType, endpoint] of options.routes) {
    // The backends' HTTP/2 window (echo-backend-process.ts), as actorgate's channels use: not grpc-js's 64 KiB.
    const channelOptions = { 'grpc-node.flow_control_window': 1024 * 1024 };
    const client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), channelOptions);
    clients.push(client);
    const metadata = new grpc.Metadata();
    metadata.set('gate-name', 'floor/0');
    const stream = client.makeBidiStreamRequest(path, encodePacketBatch, decodePacketBatch, metadata);
    stream.on('data', onBatch);
    stream.on('error', (err) => {
      if (!closing) process.stderr.write(`floor relay: stream to ${endpoint} failed: ${err.message}\n`);
    });
    const lane: Lane = { stream, pending: [], pendingBytes: 0, writing: false, written: () => {} };
    lane.written = () => {
      lane.writing = false;
      if (lane.pending.length > 0) queueFlush();
    };
    lanes.set(serverType, lane);
  }

  let flushQueued = false;
  const flush = () => {
    flushQueued = false;
    for (const lane of lanes.values()) if (!lane.writing && lane.pending.length > 0) write(lane);
  };
  const queueFlush = () => {
    if (flushQueued) return;
    flushQueued = true;
    setImmediate(flush);
  };
  const write = (lane: Lane) => {
    const packets = lane.pending;
    lane.pending = [];
    lane.pendingBytes = 0;
    lane.writing = true;
    lane.stream.write({ packets }, lane.written);
  };

  let nextSession = 1;
  const app = uWS.App().ws<Session>('/*', {
    compression: uWS.DISABLED,
    maxPayloadLength: 128 * 1024,
    maxBackpressure: 1024 * 1024,
    idleTimeout: 0,
    upgrade: (res, req, context) => {
      res.upgrade<Session>(
        { id: nextSession++ },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws) => {
      sockets.set(ws.getUserData().id, ws);
    },
    message: (ws, message, isBinary) => {
      if (!isBinary || message.byteLength < HEADER) return;
      const view = new DataView(message);
      if (view.getUint16(0, true) !== message.byteLength - HEADER) return;
      const serverId = view.getUint32(4, true);
      const lane = lanes.get((serverId >>> 8) & 0xff);
      if (lane === undefined) return;
      // uWS reuses the message's memory after this callback: the packet keeps its own copy.
      const payload = new Uint8Array(message.byteLength - HEADER);
      payload.set(new Uint8Array(message, HEADER));
      lane.pending.push(dataPacket(ws.getUserData().id, 0, view.getUint16(2, true), serverId, payload));
      lane.pendingBytes += payload.byteLength;
      if (lane.pendingBytes >= MAX_BATCH_BYTES) write(lane);
      else queueFlush();
    },
    close: (ws) => {
      sockets.delete(ws.getUserData().id);
    },
  });
  const host = options.host ?? '127.0.0.1';
  let listenSocket: uWS.us_listen_socket | false = false;
  app.listen(host, options.port ?? 0, (socket) => {
    listenSocket = socket;
  });
  if (listenSocket === false) {
    app.close();
    for (const client of clients) client.close();
    throw new Error(`floor relay: cannot listen on ${host}:${options.port ?? 0}`);
  }
  const port = uWS.us_socket_local_port(listenSocket);
  return {
    port,
    close: async () => {
      closing = true;
      app.close();
      for (const lane of lanes.values()) lane.stream.cancel();
      for (const client of clients) client.close();
    },
  };
}
