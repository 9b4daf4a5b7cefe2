/**
 * What a worker does with a packet from a backend stream: frames DATA for its session (or, with session id 0 and a
 * topic, for the topic's local subscribers), closes on CLOSE, applies SUBSCRIBE (a grant, a refusal with a code, or a
 * server-side subscription), UNSUBSCRIBE and BIND_USER. Packets for sessions this worker does not hold are counted.
 *
 * A received batch is handled as runs: consecutive DATA packets for one session are sent inside one uWS cork, so they
 * leave in one write instead of one system call each (sends outside uWS's own callbacks are not corked for us).
 */
import { WorkerSlot } from '../core/counters.ts';
import { Code, clientCloseCode } from '../protocol/codes.ts';
import { Control } from '../protocol/control.ts';
import { FrameWriter, MAX_PAYLOAD_BYTES } from '../protocol/frame.ts';
import { PacketKind, type Packet } from '../backend/proto.ts';
import { Target, type PushItem } from '../push/push-item.ts';
import { refuseTopic, subscribe, unsubscribe, type ControlContext } from './control-handler.ts';
import type { Session } from './session.ts';
import type { SessionShard } from './session-shard.ts';

export interface InboundContext extends ControlContext {
  readonly shard: SessionShard;
  bindUser(session: Session, userId: string): void;
  deliverItem(item: PushItem): number;
}

/** One per worker thread: `ctx.send` hands each frame to uWS, which copies it before returning. */
const frames = new FrameWriter();

/** Whether a backend packet fits a client frame (u16 msgId, u16 length); counted when it does not. */
function frameable(ctx: InboundContext, packet: Packet): boolean {
  if (packet.payload!.length <= MAX_PAYLOAD_BYTES && packet.msgId! <= 0xffff) return true;
  ctx.counters[WorkerSlot.BACKEND_PACKET_INVALID]++;
  return false;
}

export class BackendInbound {
  readonly #ctx: InboundContext;
  #run: Packet[] = [];
  #runFrom = 0;
  #runTo = 0;
  #runSession: Session | undefined;
  readonly #sendRun = () => {
    const ctx = this.#ctx;
    const session = this.#runSession!;
    const run = this.#run;
    for (let i = this.#runFrom; i < this.#runTo; i++) {
      const packet = run[i]!;
      if (frameable(ctx, packet)) ctx.send(session, frames.frame(packet.msgId!, packet.serverId!, packet.payload!));
    }
  };

  constructor(ctx: InboundContext) {
    this.#ctx = ctx;
  }

  handle(packets: Packet[]): void {
    const ctx = this.#ctx;
    let i = 0;
    while (i < packets.length) {
      const packet = packets[i]!;
      const id = packet.sessionId!;
      let end = i + 1;
      if (packet.kind === PacketKind.DATA && id !== '0') {
        while (end < packets.length && packets[end]!.kind === PacketKind.DATA && packets[end]!.sessionId === id) end++;
      }
      if (end - i === 1) {
        handleBackendPacket(ctx, packet);
      } else {
        const session = ctx.shard.get(id);
        if (session === undefined || session.closed) ctx.counters[WorkerSlot.UNKNOWN_SESSION] += end - i;
        else {
          this.#run = packets;
          this.#runFrom = i;
          this.#runTo = end;
          this.#runSession = session;
          session.ws.cork(this.#sendRun);
          this.#runSession = undefined;
        }
      }
      i = end;
    }
    this.#run = [];
  }
}

export function handleBackendPacket(ctx: InboundContext, packet: Packet): void {
  const sessionId = packet.sessionId!;
  if (packet.kind === PacketKind.DATA && packet.topic && sessionId === '0') {
    if (frameable(ctx, packet)) ctx.deliverItem({ t: Target.TOPIC, k: packet.topic, m: packet.msgId!, s: packet.serverId!, p: packet.payload! });
    return;
  }
  const session = ctx.shard.get(sessionId);
  if (session === undefined || session.closed) {
    ctx.counters[WorkerSlot.UNKNOWN_SESSION]++;
    return;
  }
  switch (packet.kind) {
    case PacketKind.DATA:
      if (frameable(ctx, packet)) ctx.send(session, frames.frame(packet.msgId!, packet.serverId!, packet.payload!));
      return;
    case PacketKind.CLOSE:
      return session.ws.end(clientCloseCode(packet.code!), packet.reason ?? '');
    case PacketKind.SUBSCRIBE: {
      const topic = packet.topic;
      if (!topic) return;
      const code = packet.code ?? 0;
      // A refusal answers a pending request; a grant subscribes (a pending request, or a server-side subscription).
      if (code !== 0) {
        if (session.pendingTopics.delete(topic)) refuseTopic(ctx, session, Control.SUBSCRIBE_RESULT, code >= 4000 && code <= 4999 ? code : Code.FORBIDDEN, topic);
        return;
      }
      session.pendingTopics.delete(topic);
      subscribe(ctx, session, topic, false);
      return;
    }
    case PacketKind.UNSUBSCRIBE:
      if (packet.topic) unsubscribe(ctx, session, packet.topic);
      return;
    case PacketKind.BIND_USER:
      if (packet.userId) ctx.bindUser(session, packet.userId);
      return;
  }
}
