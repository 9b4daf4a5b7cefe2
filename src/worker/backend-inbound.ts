/**
 * What comes back to a worker's sessions from its stream actors.
 *
 * A backend packet: DATA is framed for its session (or, with no session and a topic, published to the topic's local
 * subscribers), CLOSE ends the session, SUBSCRIBE answers a forwarded request or subscribes on the backend's own
 * account, UNSUBSCRIBE and BIND_USER update the session. Packets for sessions this worker does not hold are counted,
 * and so are packets no client could be given (an unknown kind, a payload or msg_id too large for a frame, a topic or
 * user id out of the bounds a client or the push API has): dropped, never passed on.
 * A received batch's DATA is grouped by session, each session's packets in their order, and a session's group is sent
 * inside one uWS cork: it leaves in one write instead of one system call per packet (sends outside uWS's own
 * callbacks are not corked for us). Stream actors fill batches round-robin across sessions, so an echoing backend's
 * batches interleave them: sent as they come, nearly every packet would be a write of its own. Only sockets are
 * reordered, never one session's packets: any other packet (CLOSE, SUBSCRIBE, a topic's DATA, ...) first sends
 * every group gathered so far, then acts, so it keeps its place after the DATA before it.
 *
 * One DATA packet sent in `metrics.stageSampleEvery` is timed from its batch's arrival (stage-probes.ts).
 *
 * From the actor itself: a queued packet it gave back (expired while the backend was down, or failed over) is
 * answered to its client, and a failover unbinds the endpoint's sessions so their next message binds elsewhere.
 */
import { WorkerSlot } from '../core/counters.ts';
import { Code, clientCloseCode, clientCloseReason } from '../protocol/codes.ts';
import { encodeError, MAX_TOPIC_BYTES } from '../protocol/control.ts';
import { FrameWriter, isServerFrame, MAX_PAYLOAD_BYTES } from '../protocol/frame.ts';
import { PacketKind } from '../backend/proto.ts';
import type { StreamActor } from '../backend/stream-actor.ts';
import type { StreamPacket } from '../backend/stream-packet.ts';
import { MAX_USER_ID_BYTES } from '../auth/auth-verdict.ts';
import { keyedItem, Target } from '../push/push-item.ts';
import type { ClientSender } from './client-sender.ts';
import type { PushDelivery } from './push-delivery.ts';
import type { Session } from './session.ts';
import type { SessionShard } from './session-shard.ts';
import type { EndpointStages, StageProbes } from './stage-probes.ts';
import type { Subscriptions } from './subscriptions.ts';
import type { WorkerTracing } from '../tracing/worker-tracing.ts';

export interface InboundContext {
  readonly counters: Float64Array;
  readonly shard: SessionShard;
  readonly sender: ClientSender;
  readonly subscriptions: Subscriptions;
  readonly delivery: PushDelivery;
  readonly stages: StageProbes;
  readonly tracing: WorkerTracing;
}

/** One per worker thread: `sender.send` hands each frame to uWS, which copies it before returning. */
const frames = new FrameWriter();

export class BackendInbound {
  readonly #ctx: InboundContext;
  /** The batch being handled, and for each of its packets the index of its session's next DATA in it (-1: none). */
  #batch: StreamPacket[] = [];
  #next = new Int32Array(512);
  /** Sessions with DATA gathered and not yet sent, in the order first seen; `#group` tells gatherings apart. */
  readonly #gathered: Session[] = [];
  #group = 0;
  #sending: Session | undefined;
  /** The batch being handled: its endpoint's stage sink, and its arrival time if a send of it is to be timed (else 0). */
  #stages: EndpointStages | undefined;
  #arrivedAt = 0;
  /** The batch's arrival when tracing exports spans (a delivery span starts there), else 0. */
  #tracedAt = 0;
  readonly #sendGroup = () => {
    const session = this.#sending!;
    const batch = this.#batch;
    const next = this.#next;
    for (let i = session.inboundHead; i !== -1; i = next[i]!) this.#sendData(session, batch[i]!);
  };

  constructor(ctx: InboundContext) {
    this.#ctx = ctx;
  }

  /** One batch received from a backend stream, in stream order; `stages`: its endpoint's stage sink. */
  handle(packets: StreamPacket[], stages?: EndpointStages): void {
    const ctx = this.#ctx;
    this.#stages = stages;
    this.#arrivedAt = stages === undefined ? 0 : ctx.stages.arrival(packets.length);
    this.#tracedAt = ctx.tracing.exporting ? performance.now() : 0;
    this.#batch = packets;
    if (this.#next.length < packets.length) this.#next = new Int32Array(Math.max(packets.length, 2 * this.#next.length));
    const next = this.#next;
    const gathered = this.#gathered;
    let group = ++this.#group;
    for (let i = 0; i < packets.length; i++) {
      const packet = packets[i]!;
      if (packet.kind !== PacketKind.DATA || (packet.idLo | packet.idHi) === 0) {
        this.#sendGathered();
        group = ++this.#group;
        this.#handleOne(packet);
        continue;
      }
      const session = ctx.shard.get(packet.idLo, packet.idHi);
      if (session === undefined || session.closed) {
        ctx.counters[WorkerSlot.UNKNOWN_SESSION]++;
        continue;
      }
      next[i] = -1;
      if (session.inboundGroup !== group) {
        session.inboundGroup = group;
        session.inboundHead = i;
        gathered.push(session);
      } else next[session.inboundTail] = i;
      session.inboundTail = i;
    }
    this.#sendGathered();
    this.#batch = [];
  }

  /** Sends each gathered session's DATA, a session with more than one packet inside one cork. */
  #sendGathered(): void {
    const gathered = this.#gathered;
    for (let g = 0; g < gathered.length; g++) {
      const session = gathered[g]!;
      if (this.#next[session.inboundHead] === -1) this.#sendData(session, this.#batch[session.inboundHead]!);
      else {
        this.#sending = session;
        session.ws.cork(this.#sendGroup);
      }
    }
    this.#sending = undefined;
    gathered.length = 0;
  }

  /** A queued packet the stream actor gave back (expired, failed over): tell its client. */
  dropped(packet: StreamPacket, code: number): void {
    const ctx = this.#ctx;
    const session = ctx.shard.get(packet.idLo, packet.idHi);
    if (session === undefined) return;
    // An authorization request that never reached the backend: the client gets its subscribe result.
    if (packet.kind === PacketKind.SUBSCRIBE) return ctx.subscriptions.dropped(session, packet.topic, code);
    ctx.sender.send(session, encodeError(code, packet.msgId, packet.serverId, 'backend down; message not delivered'));
  }

  /** The endpoint stayed down: unbind its sessions and tell them; their next message binds to a healthy endpoint. */
  failover(sessionKeys: number[], from: StreamActor): void {
    const ctx = this.#ctx;
    const frame = encodeError(Code.BACKEND_FAILOVER, 0, 0, `backend ${from.endpoint} down; rebinding on the next message`);
    for (const key of sessionKeys) {
      const session = ctx.shard.byKey(key);
      if (session === undefined) continue;
      session.backends.unbind(from);
      ctx.sender.send(session, frame);
    }
  }

  #handleOne(packet: StreamPacket): void {
    const ctx = this.#ctx;
    if (packet.kind === PacketKind.DATA && packet.topic && (packet.idLo | packet.idHi) === 0) {
      if (this.#frameable(packet)) ctx.delivery.deliver(keyedItem(Target.TOPIC, packet.topic, packet.msgId, packet.serverId, packet.payload));
      return;
    }
    const session = ctx.shard.get(packet.idLo, packet.idHi);
    if (session === undefined || session.closed) {
      ctx.counters[WorkerSlot.UNKNOWN_SESSION]++;
      return;
    }
    switch (packet.kind) {
      case PacketKind.DATA:
        return this.#sendData(session, packet);
      case PacketKind.CLOSE:
        return session.ws.end(clientCloseCode(packet.code), clientCloseReason(packet.reason));
      case PacketKind.SUBSCRIBE:
        if (this.#topicFits(packet)) ctx.subscriptions.answered(session, packet.topic, packet.code);
        return;
      case PacketKind.UNSUBSCRIBE:
        if (this.#topicFits(packet)) ctx.subscriptions.unsubscribe(session, packet.topic);
        return;
      case PacketKind.BIND_USER:
        // The push API's bound: a longer user id could never be pushed to, and would be held (and subscribed on Redis).
        if (packet.userId !== '' && Buffer.byteLength(packet.userId) <= MAX_USER_ID_BYTES) ctx.subscriptions.bindUser(session, packet.userId);
        else ctx.counters[WorkerSlot.BACKEND_PACKET_INVALID]++;
        return;
      default:
        ctx.counters[WorkerSlot.BACKEND_PACKET_INVALID]++;
    }
  }

  /** A backend's (UN)SUBSCRIBE names a topic a client could name (1–200 bytes); counted when it does not. */
  #topicFits(packet: StreamPacket): boolean {
    if (packet.topic !== '' && Buffer.byteLength(packet.topic) <= MAX_TOPIC_BYTES) return true;
    this.#ctx.counters[WorkerSlot.BACKEND_PACKET_INVALID]++;
    return false;
  }

  #sendData(session: Session, packet: StreamPacket): void {
    if (!this.#frameable(packet)) return;
    const tracing = this.#ctx.tracing;
    const traced = (packet.traceparent !== '' || tracing.exporting) && tracing.deliveryStart(packet);
    this.#ctx.sender.send(session, frames.frame(packet.msgId, packet.serverId, packet.payload));
    this.#ctx.stages.sent(this.#stages, this.#arrivedAt);
    if (traced) tracing.deliveryEnd(session, packet, this.#tracedAt);
  }

  /** Whether a backend packet fits a client frame (u16 msgId, u16 length, not a control serverId); counted when it does not. */
  #frameable(packet: StreamPacket): boolean {
    if (packet.payload.length <= MAX_PAYLOAD_BYTES && packet.msgId <= 0xffff && isServerFrame(packet.serverId)) return true;
    this.#ctx.counters[WorkerSlot.BACKEND_PACKET_INVALID]++;
    return false;
  }
}
