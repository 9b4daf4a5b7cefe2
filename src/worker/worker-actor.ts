/**
 * The worker actor: owns one uWS app (its client transport), one shard of sessions, its backends (BackendRouter: one
 * stream actor per endpoint) and, with Redis, its fan-out subscriber. Every session lives here for its whole life. It takes WorkerCommands from the supervisor and reports
 * WorkerEvents; it never touches node:worker_threads, so a test can run it in-process.
 */
import type uWS from 'uWebSockets.js';
import type { Logger } from '../core/logger.ts';
import type { ResolvedConfig } from '../core/options.ts';
import { Refuse, WorkerCounters, WorkerSlot } from '../core/counters.ts';
import { errorToWire } from '../core/errors.ts';
import { SessionIdGenerator } from '../core/session-id.ts';
import { Code } from '../protocol/codes.ts';
import { Control, encodeDrain, encodeError, encodeWelcome } from '../protocol/control.ts';
import { checkFrame, FrameFault, HEADER_BYTES, packServerId, readMsgId, readServerId, serverTypeOf } from '../protocol/frame.ts';
import { SendResult, type StreamActor } from '../backend/stream-actor.ts';
import { PacketKind, type Packet } from '../backend/proto.ts';
import { unpackItems, type PushItem } from '../push/push-item.ts';
import { RedisFanout } from '../control/redis-fanout.ts';
import { BackendRouter } from './backend-router.ts';
import { BackendInbound, type InboundContext } from './backend-inbound.ts';
import { ClientTransport, type ClientHandler } from './client-transport.ts';
import { handleControl, refuseTopic } from './control-handler.ts';
import { deliverPush, type DeliveryContext } from './push-delivery.ts';
import { Session, type SocketData } from './session.ts';
import { SessionShard } from './session-shard.ts';
import { SessionSweeper } from './session-sweeper.ts';
import { TopicPolicy } from './topic-policy.ts';
import type { WorkerCommand, WorkerEvent, WorkerInit } from './worker-messages.ts';

type WorkerState = 'starting' | 'running' | 'draining' | 'closing' | 'closed';

const FAULT_TO_REFUSAL = {
  [FrameFault.MALFORMED]: [Refuse.MALFORMED, Code.MALFORMED_FRAME, 'message shorter than the 8-byte header'],
  [FrameFault.LENGTH_MISMATCH]: [Refuse.LENGTH_MISMATCH, Code.LENGTH_MISMATCH, 'length field is not message size - 8'],
  [FrameFault.TOO_LARGE]: [Refuse.TOO_LARGE, Code.PAYLOAD_TOO_LARGE, 'payload over limits.maxPayloadBytes'],
} as const;

export class WorkerActor implements ClientHandler, InboundContext, DeliveryContext {
  readonly index: number;
  readonly config: ResolvedConfig;
  readonly limits: ResolvedConfig['limits'];
  readonly policy: TopicPolicy;
  readonly counters: Float64Array;
  readonly shard = new SessionShard();
  readonly #sweeper: SessionSweeper;
  #fanout: RedisFanout | undefined;
  readonly #logger: Logger;
  readonly #post: (event: WorkerEvent) => void;
  readonly #init: WorkerInit;
  readonly #ids: SessionIdGenerator;
  readonly #backends: BackendRouter;
  readonly #inbound = new BackendInbound(this);
  readonly #gateName: string;
  #transport: ClientTransport | undefined;
  #state: WorkerState = 'starting';
  #faultArmed = false;
  #closed: Promise<void> | undefined;

  constructor(init: WorkerInit, logger: Logger, post: (event: WorkerEvent) => void) {
    this.#init = init;
    this.index = init.index;
    this.config = init.config;
    this.limits = init.config.limits;
    this.#logger = logger;
    this.#post = post;
    this.#gateName = `${init.config.name}/${init.index}`;
    this.policy = new TopicPolicy(init.config.topics.allow);
    const counters = new WorkerCounters(init.counters);
    this.counters = counters.worker;
    this.#ids = new SessionIdGenerator(init.config.nodeId, init.index, init.idClock);
    this.#sweeper = new SessionSweeper(this.limits, this.shard, this.counters);
    this.#backends = new BackendRouter(init.config, init.index, this.#gateName, counters, logger, {
      onBatch: (packets) => this.#inbound.handle(packets),
      onDropped: (packet, code) => this.#onDropped(packet, code),
      onFailover: (ids, from) => this.#onFailover(ids, from),
    });
  }

  get state(): WorkerState {
    return this.#state;
  }

  /** Connects the backend streams, listens, and reports the bound port. */
  start(): void {
    this.#backends.start();
    const redis = this.config.redis;
    if (redis !== null) {
      this.#fanout = new RedisFanout({
        ...redis,
        nodeId: this.config.nodeId,
        worker: this.index,
        logger: this.#logger,
        onItem: (item) => {
          this.counters[WorkerSlot.REDIS_RECEIVED]++;
          this.deliverItem(item);
        },
        onInvalid: () => this.counters[WorkerSlot.REDIS_INVALID]++,
      });
    }
    this.#transport = new ClientTransport(this.limits, this);
    this.#sweeper.start();
    const port = this.#transport.listen(this.config.listen.host, this.#init.port);
    this.#state = 'running';
    this.counters[WorkerSlot.SESSIONS] = 0;
    this.#logger.info({ port }, 'worker listening');
    this.#post({ type: 'listening', port });
  }

  handle(command: WorkerCommand): void {
    switch (command.type) {
      case 'drain':
        return this.drain(command.reconnectAfterMs, command.url);
      case 'close':
        void this.close(command.flushTimeoutMs, command.code).then(() => this.#post({ type: 'closed' }));
        return;
      case 'inject-fault':
        if (this.config.faultInjection) this.#faultArmed = true;
        return;
      case 'push': {
        const items = unpackItems(command.items);
        const counts = new Uint32Array(items.length);
        for (let i = 0; i < items.length; i++) counts[i] = this.deliverItem(items[i]!);
        this.#post({ type: 'push-result', id: command.id, counts });
        return;
      }
    }
  }

  drain(reconnectAfterMs: number, url: string): void {
    if (this.#state !== 'running') return;
    this.#state = 'draining';
    this.#transport?.stopListening();
    const frame = encodeDrain(reconnectAfterMs, url);
    for (const session of this.shard.values()) this.send(session, frame);
    this.#logger.info({ sessions: this.shard.size }, 'worker draining');
  }

  /** Closes every session (SHUTDOWN), flushes CLOSE packets within the deadline, then closes the app. Idempotent. */
  close(flushTimeoutMs: number, code: number = Code.SHUTDOWN): Promise<void> {
    this.#closed ??= this.#close(flushTimeoutMs, code);
    return this.#closed;
  }

  async #close(flushTimeoutMs: number, code: number): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closing';
    this.#transport?.stopListening();
    this.#sweeper.stop();
    const reason = code === Code.DRAINED ? 'gateway drained' : 'gateway shutting down';
    for (const session of [...this.shard.values()]) session.ws.end(code, reason);
    await this.#backends.close(flushTimeoutMs);
    this.#fanout?.close();
    this.#transport?.close();
    this.#state = 'closed';
  }

  /** Synchronous teardown for fatal paths: the uWS app is closed before the thread may end. */
  abort(err: unknown): void {
    this.#logger.error({ err: errorToWire(err) }, 'worker failed; closing its sessions');
    this.#state = 'closed';
    this.#sweeper.stop();
    try {
      // Best effort: the close frame may not leave before the app closes the sockets (clients then see 1006).
      for (const session of [...this.shard.values()]) session.ws.end(Code.INTERNAL_ERROR, 'worker failed');
    } catch {
      // a socket already gone; the app close below ends the rest
    }
    try {
      this.#transport?.close();
    } finally {
      this.#backends.destroy();
      this.#fanout?.close();
    }
  }

  // ClientHandler ---------------------------------------------------------------------------------------------------

  admits(): boolean {
    return this.#state === 'running' && this.shard.size < this.limits.maxConnectionsPerWorker;
  }

  onRefused(): void {
    this.counters[WorkerSlot.UPGRADES_REFUSED]++;
  }

  onOpen(ws: uWS.WebSocket<SocketData>): void {
    const data = ws.getUserData();
    const session = new Session(this.#ids.next(), ws, data.path, data.remoteAddress, this.#sweeper.now);
    data.session = session;
    this.shard.add(session);
    this.counters[WorkerSlot.SESSIONS] = this.shard.size;
    this.counters[WorkerSlot.SESSIONS_OPENED]++;
    this.#logger.info({ session: session.id, remote: session.remoteAddress, path: session.path }, 'connection open');
    this.send(session, encodeWelcome(session.id, this.index, this.#gateName));
  }

  onMessage(ws: uWS.WebSocket<SocketData>, message: ArrayBuffer, isBinary: boolean): void {
    const session = ws.getUserData().session!;
    session.lastSeen = this.#sweeper.now;
    const counters = this.counters;
    counters[WorkerSlot.FRAMES_IN]++;
    counters[WorkerSlot.BYTES_IN] += message.byteLength;
    if (this.#faultArmed) {
      this.#faultArmed = false;
      throw new Error('injected fault (faultInjection)');
    }
    if (!isBinary) return this.#violation(session, Refuse.TEXT_FRAME, Code.TEXT_NOT_SUPPORTED, 0, 0, 'text messages are not supported');
    const view = new DataView(message);
    const fault = checkFrame(view, this.limits.maxPayloadBytes);
    if (fault !== FrameFault.NONE) {
      const [slot, code, reason] = FAULT_TO_REFUSAL[fault];
      const msgId = message.byteLength >= 4 ? readMsgId(view) : 0;
      const serverId = message.byteLength >= HEADER_BYTES ? readServerId(view) : 0;
      return this.#violation(session, slot, code, msgId, serverId, reason);
    }
    const msgId = readMsgId(view);
    const serverId = readServerId(view);
    if (serverTypeOf(serverId) === 0) {
      if (!handleControl(this, session, msgId, message)) {
        this.#violation(session, Refuse.UNKNOWN_CONTROL, Code.UNKNOWN_CONTROL, msgId, serverId, 'unknown or malformed control message');
      }
      return;
    }
    const route = this.#backends.match(serverId);
    if (route === undefined) return this.#refuse(session, Refuse.NO_ROUTE, Code.NO_ROUTE, msgId, serverId, 'no route for this serverId');
    const actor = this.#backends.actorFor(session, route);
    const packet: Packet = {
      sessionId: session.id,
      sessionIdLo: session.idLo,
      sessionIdHi: session.idHi,
      msgId,
      serverId,
      payload: new Uint8Array(message.slice(HEADER_BYTES)),
      kind: PacketKind.DATA,
    };
    const result = actor.send(packet);
    if (result === SendResult.FULL) this.#refuse(session, Refuse.BACKEND_OVERLOADED, Code.BACKEND_OVERLOADED, msgId, serverId, 'backend mailbox full');
    else if (result === SendResult.UNAVAILABLE) this.#refuse(session, Refuse.BACKEND_UNAVAILABLE, Code.BACKEND_UNAVAILABLE, msgId, serverId, 'backend unavailable');
  }

  onClose(ws: uWS.WebSocket<SocketData>, code: number, reason: ArrayBuffer): void {
    const session = ws.getUserData().session;
    if (session === undefined) return;
    session.closed = true;
    this.shard.remove(session);
    this.#sweeper.forget(session);
    const counters = this.counters;
    counters[WorkerSlot.SESSIONS] = this.shard.size;
    counters[WorkerSlot.SESSIONS_CLOSED]++;
    counters[WorkerSlot.SUBSCRIPTIONS] -= session.topics.size;
    if (this.#fanout !== undefined) {
      for (const topic of session.topics) this.#fanout.releaseTopic(topic);
      if (session.userId !== undefined) this.#fanout.releaseUser(session.userId);
    }
    const text = Buffer.from(reason).toString();
    for (const [actor, notify] of session.notify) actor.closeSession(session.id, code, text, notify);
    this.#logger.info({ session: session.id, code, reason: text }, 'connection closed');
  }

  onAlive(ws: uWS.WebSocket<SocketData>): void {
    const session = ws.getUserData().session;
    if (session !== undefined) session.lastSeen = this.#sweeper.now;
  }

  onDrain(ws: uWS.WebSocket<SocketData>): void {
    const session = ws.getUserData().session;
    if (session !== undefined) this.#sweeper.drained(session);
  }

  // ControlContext / DeliveryContext --------------------------------------------------------------------------------

  get app(): uWS.TemplatedApp | undefined {
    return this.#transport?.app;
  }

  authorize(session: Session, topic: string): boolean {
    const route = this.#backends.authorizerOf(topic);
    if (route === undefined) return false;
    const { rule } = route;
    const serverId = packServerId({ serverType: rule.serverType, worldId: rule.worldId, instId: rule.instId });
    const result = this.#backends.actorFor(session, route).send({ sessionId: session.id, sessionIdLo: session.idLo, sessionIdHi: session.idHi, kind: PacketKind.SUBSCRIBE, topic, serverId });
    if (result === SendResult.QUEUED) session.pendingTopics.add(topic);
    else refuseTopic(this, session, Control.SUBSCRIBE_RESULT, result === SendResult.FULL ? Code.BACKEND_OVERLOADED : Code.BACKEND_UNAVAILABLE, topic);
    return true;
  }

  bindUser(session: Session, userId: string): void {
    if (session.userId === userId) return;
    if (session.userId !== undefined) this.#fanout?.releaseUser(session.userId);
    this.shard.bindUser(session, userId);
    this.#fanout?.retainUser(userId);
  }

  /** One push (push API, Redis, backend topic publish): delivered to local sessions, counted. Returns sessions reached. */
  deliverItem(item: PushItem): number {
    const reached = deliverPush(this, item);
    const counters = this.counters;
    if (reached === 0) counters[WorkerSlot.PUSH_NO_TARGET]++;
    else {
      counters[WorkerSlot.PUSH_DELIVERED]++;
      counters[WorkerSlot.PUSH_SESSIONS_REACHED] += reached;
    }
    return reached;
  }

  topicAdded(topic: string): void {
    this.#fanout?.retainTopic(topic);
  }

  topicRemoved(topic: string): void {
    this.#fanout?.releaseTopic(topic);
  }

  /**
   * Sends one frame to a client. A frame that does not fit the send buffer is dropped (counted) and starts the
   * session's slow-consumer grace period.
   */
  send(session: Session, bytes: Uint8Array | ArrayBuffer): void {
    if (session.closed) return;
    const counters = this.counters;
    const result = session.ws.send(bytes, true, false);
    if (result === 2) {
      counters[WorkerSlot.CLIENT_SEND_DROPPED]++;
      this.#sweeper.overflowed(session);
      return;
    }
    counters[WorkerSlot.FRAMES_OUT]++;
    counters[WorkerSlot.BYTES_OUT] += bytes.byteLength;
    if (result === 0) {
      // Queued behind backpressure: track the peak so the bound is observable.
      const buffered = session.ws.getBufferedAmount();
      if (buffered > counters[WorkerSlot.PEAK_CLIENT_BUFFER]!) counters[WorkerSlot.PEAK_CLIENT_BUFFER] = buffered;
    }
  }

  // Internals -------------------------------------------------------------------------------------------------------

  #refuse(session: Session, slot: number, code: number, msgId: number, serverId: number, reason: string): void {
    this.counters[slot]++;
    this.send(session, encodeError(code, msgId, serverId, reason));
  }

  /** A protocol violation: refused like any error, and past the budget the session is closed. */
  #violation(session: Session, slot: number, code: number, msgId: number, serverId: number, reason: string): void {
    this.#refuse(session, slot, code, msgId, serverId, reason);
    if (session.violation(Date.now(), this.limits.maxViolations, this.limits.violationWindowMs)) {
      this.counters[WorkerSlot.VIOLATION_CLOSES]++;
      session.ws.end(Code.PROTOCOL_VIOLATION, 'too many protocol violations');
    }
  }

  /** A queued message the stream actor gave back (expired while the backend was down): tell its client. */
  #onDropped(packet: Packet, code: number): void {
    const session = this.shard.get(packet.sessionId!);
    if (session === undefined) return;
    if (packet.kind === PacketKind.SUBSCRIBE) {
      // An authorization request that never reached the backend: the client gets its subscribe result.
      if (session.pendingTopics.delete(packet.topic!)) refuseTopic(this, session, Control.SUBSCRIBE_RESULT, code, packet.topic!);
      return;
    }
    this.send(session, encodeError(code, packet.msgId!, packet.serverId!, 'backend down; message not delivered'));
  }

  /** The endpoint stayed down: unbind its sessions and tell them; their next message binds to a healthy endpoint. */
  #onFailover(ids: string[], from: StreamActor): void {
    const frame = encodeError(Code.BACKEND_FAILOVER, 0, 0, `backend ${from.endpoint} down; rebinding on the next message`);
    for (const id of ids) {
      const session = this.shard.get(id);
      if (session === undefined) continue;
      this.#backends.unbind(session, from);
      this.send(session, frame);
    }
  }
}
