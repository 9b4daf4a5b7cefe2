/**
 * The worker actor: owns one uWS app (its client transport), one shard of sessions, its backends (BackendRouter: one
 * stream actor per endpoint) and, with Redis, its fan-out subscriber. Every session lives here for its whole life. It
 * takes WorkerCommands from the supervisor and reports WorkerEvents; it never touches node:worker_threads, so a test
 * can run it in-process.
 *
 * This file is the client message path and the lifecycle. What is a concept of its own lives beside it: what is sent
 * to clients and counted (ClientSender), topics and Redis interest (Subscriptions), pushes (PushDelivery), what
 * backends send back (BackendInbound), control messages (control-handler.ts), a checked DATA frame's way to its
 * backend (DataForward), the Redis subscriber (worker-fanout.ts), who may connect and how fast sessions may send
 * (WorkerEdge: limits, authentication, rates), the drain's schedule (drain-schedule.ts), traces (src/tracing/), stage
 * timings (StageProbes) and the access log. The state changes only through
 * `#fsm.transition`, and `#enter` is its one entry action:
 *
 *   starting ──start──▶ running ──drain──▶ draining
 *   starting, running, draining ──close──▶ closing ──backends flushed──▶ closed;  any ──abort──▶ closed
 */
import type uWS from 'uWebSockets.js';
import { CoarseClock } from '../core/coarse-clock.ts';
import type { Logger } from '../core/logger.ts';
import type { ResolvedConfig } from '../core/options.ts';
import { DrainSlot, Refuse, WorkerCounters, WorkerSlot } from '../core/counters.ts';
import { createAdmissionBuffer } from '../core/admission-memory.ts';
import { errorToWire } from '../core/errors.ts';
import { SessionIdGenerator } from '../core/session-id.ts';
import { StateMachine } from '../core/state-machine.ts';
import { Code } from '../protocol/codes.ts';
import { encodeWelcome } from '../protocol/control.ts';
import { checkFrame, FrameFault, HEADER_BYTES, readMsgId, readServerId, serverTypeOf } from '../protocol/frame.ts';
import { WorkerTracing } from '../tracing/worker-tracing.ts';
import type { RedisFanout } from '../control/redis-fanout.ts';
import { openWorkerFanout } from './worker-fanout.ts';
import { BackendRouter, ROUTE_RELEASED } from './backend-router.ts';
import { BackendInbound } from './backend-inbound.ts';
import { ClientSender } from './client-sender.ts';
import { AccessLog } from './access-log.ts';
import { TopicTally } from './topic-tally.ts';
import { ClientTransport, type ClientHandler } from './client-transport.ts';
import { reloadTransportTls } from './tls-reload.ts';
import { loadTls } from '../core/options-tls.ts';
import { handleControl, type ControlContext } from './control-handler.ts';
import { ThreadPauses } from './thread-pauses.ts';
import { StageProbes } from './stage-probes.ts';
import { PushDelivery } from './push-delivery.ts';
import { Session, type SocketData } from './session.ts';
import { SessionShard } from './session-shard.ts';
import { SessionSweeper } from './session-sweeper.ts';
import { Subscriptions } from './subscriptions.ts';
import { WorkerEdge } from './worker-edge.ts';
import { DataForward } from './data-forward.ts';
import { TopicPolicy } from './topic-policy.ts';
import { RateVerdict } from './message-rate.ts';
import type { WorkerCommand, WorkerEvent, WorkerInit } from './worker-messages.ts';
import { sendDrains, type DrainRequest, type DrainSchedule, type DrainSpread } from './drain-schedule.ts';

export const WorkerStates = ['starting', 'running', 'draining', 'closing', 'closed'] as const;
export type WorkerState = (typeof WorkerStates)[number];

const FAULT_TO_REFUSAL = {
  [FrameFault.MALFORMED]: [Refuse.MALFORMED, Code.MALFORMED_FRAME, 'message shorter than the 8-byte header'],
  [FrameFault.LENGTH_MISMATCH]: [Refuse.LENGTH_MISMATCH, Code.LENGTH_MISMATCH, 'length field is not message size - 8'],
  [FrameFault.TOO_LARGE]: [Refuse.TOO_LARGE, Code.PAYLOAD_TOO_LARGE, 'payload over limits.maxPayloadBytes'],
} as const;

/** The coarse clock's period: fine enough for the shortest age it stamps (mailbox expiry), never under 10 ms. */
function clockResolutionMs(config: ResolvedConfig): number {
  return Math.max(10, Math.min(100, config.backend.maxQueueAgeMs / 20));
}

export class WorkerActor implements ClientHandler {
  readonly index: number;
  readonly #config: ResolvedConfig;
  readonly #limits: ResolvedConfig['limits'];
  readonly #counters: Float64Array;
  readonly #clock: CoarseClock;
  /** This thread's event-loop delay and GC pauses, into the counters (thread-pauses.ts). */
  readonly #pauses: ThreadPauses;
  /** Where time goes: 1 message in metrics.stageSampleEvery timed through its stages (stage-probes.ts). */
  readonly #stages: StageProbes;
  readonly #shard: SessionShard;
  readonly #sweeper: SessionSweeper;
  readonly #sender: ClientSender;
  readonly #subscriptions: Subscriptions;
  readonly #delivery: PushDelivery;
  readonly #inbound: BackendInbound;
  readonly #control: ControlContext;
  readonly #backends: BackendRouter;
  readonly #logger: Logger;
  readonly #post: (event: WorkerEvent) => void;
  readonly #init: WorkerInit;
  readonly #ids: SessionIdGenerator;
  readonly #gateName: string;
  readonly #fsm: StateMachine<WorkerState>;
  /** Who may connect and how fast sessions may send: limits, authentication, rates (worker-edge.ts). */
  readonly #edge: WorkerEdge;
  /** Trace context on backend packets and, with tracing.otlpEndpoint, spans (src/tracing/). */
  readonly #tracing: WorkerTracing;
  /** A checked DATA frame to its backend's mailbox, or its refusal (data-forward.ts). */
  readonly #forward: DataForward;
  #fanout: RedisFanout | undefined;
  #transport: ClientTransport | undefined;
  /** One line per closed session, when `accessLog.destination` is set. */
  #accessLog: AccessLog | undefined;
  #port = 0;
  #faultArmed = false;
  /** What the state being entered needs: the drain asked for, the code sessions are closed with. */
  #drainRequest: DrainRequest | undefined;
  #drainSchedule: DrainSchedule<Session> | undefined;
  #closeCode: number = Code.SHUTDOWN;
  #closed: Promise<void> | undefined;

  /** @param tracing with span export, loaded by the thread's entry (load-tracing.ts); absent: trace context only */
  constructor(init: WorkerInit, logger: Logger, post: (event: WorkerEvent) => void, tracing?: WorkerTracing) {
    const config = init.config;
    this.#init = init;
    this.index = init.index;
    this.#config = config;
    this.#limits = config.limits;
    this.#logger = logger;
    this.#post = post;
    this.#gateName = `${config.name}/${init.index}`;
    this.#fsm = new StateMachine<WorkerState>('worker actor', 'starting', logger, (to) => this.#enter(to));
    const counters = new WorkerCounters(init.counters);
    this.#counters = counters.worker;
    this.#clock = new CoarseClock(clockResolutionMs(config));
    this.#pauses = new ThreadPauses(this.#counters);
    this.#stages = new StageProbes(config.metrics.stageSampleEvery);
    this.#ids = new SessionIdGenerator(config.nodeId, init.index, init.idClock);
    // Without the supervisor's shared buffer (an actor run in-process by a test), the limits span this worker alone.
    const admission = init.admission ?? createAdmissionBuffer(init.index + 1);
    this.#shard = new SessionShard(config.nodeId, init.index);
    this.#sweeper = new SessionSweeper(this.#limits, this.#shard, this.#counters, this.#clock);
    this.#sender = new ClientSender(this.#counters, this.#sweeper);
    this.#edge = new WorkerEdge(init, admission, this.#counters, this.#sender, logger, () => this.#shard.values().next().value?.ws);
    const tally = config.accessLog.destination === null ? undefined : new TopicTally();
    this.#delivery = new PushDelivery(this.#shard, this.#sender, this.#counters, tally);
    this.#backends = new BackendRouter(config, init.index, this.#gateName, counters, logger, this.#clock, {
      onBatch: (packets, _from, stages) => this.#inbound.handle(packets, stages),
      onDropped: (packet, code) => this.#inbound.dropped(packet, code),
      onFailover: (keys, from) => this.#inbound.failover(keys, from),
      onReleased: (session) => this.#sender.send(session, ROUTE_RELEASED),
    }, init.routes, this.#stages);
    this.#subscriptions = new Subscriptions(this.#limits, new TopicPolicy(config.topics.allow), this.#counters, this.#sender, this.#shard, this.#backends, tally);
    this.#control = { counters: this.#counters, sender: this.#sender, subscriptions: this.#subscriptions, refresh: this.#edge.refresh };
    this.#tracing = tracing ?? new WorkerTracing(config.tracing, this.#counters);
    this.#stages.tracer = this.#tracing.probeTracer;
    this.#inbound = new BackendInbound({ ...this.#control, shard: this.#shard, delivery: this.#delivery, tracing: this.#tracing, stages: this.#stages });
    this.#forward = new DataForward(this.#backends, this.#sender, this.#tracing, this.#edge.rates, this.#clock);
  }

  get state(): WorkerState {
    return this.#fsm.state;
  }

  /** Sessions this worker holds. */
  get sessions(): number {
    return this.#shard.size;
  }

  /** Connects the backend streams, listens, and reports the bound port. */
  start(): void {
    // A restarted worker reads listen.tls's files as they are now: bad ones fail its start, naming the field.
    if (this.#config.listen.tls !== null) loadTls(this.#config.listen.tls, 'listen.tls');
    this.#clock.start();
    this.#pauses.start();
    this.#backends.start();
    this.#fanout = openWorkerFanout(this.#config, this.index, this.#logger, this.#counters, this.#delivery, this.#subscriptions);
    this.#edge.start();
    this.#accessLog = AccessLog.open(this.#config.accessLog, this.index, this.#counters, this.#logger);
    this.#transport = new ClientTransport(this.#limits, this, this.#edge.guard, this.#edge.upgradeAuth, this.#config.listen.tls, this.#edge.users);
    this.#delivery.attach(this.#transport);
    this.#sweeper.start();
    this.#port = this.#transport.listen(this.#config.listen.host, this.#init.port);
    this.#fsm.transition(['starting'], 'running');
  }

  handle(command: WorkerCommand): void {
    switch (command.type) {
      case 'drain':
        return this.drain(command.reconnectAfterMs, command.url, command.spread);
      case 'close':
        void this.close(command.flushTimeoutMs, command.code).then(() => this.#post({ type: 'closed' }));
        return;
      case 'inject-fault':
        if (this.#config.faultInjection) this.#faultArmed = true;
        return;
      case 'push':
        this.#post({ type: 'push-result', id: command.id, counts: this.#delivery.deliverBatch(command.items) });
        return;
      case 'routes':
        return this.#backends.apply(command.table, this.#shard.values());
      case 'reload-tls':
        this.#post({ type: 'tls-reloaded', id: command.id, ...reloadTransportTls(this.#transport, this.#config.listen.tls) });
        return;
    }
  }

  /**
   * Tells every client to reconnect after `reconnectAfterMs` (to `url` when set) and stops accepting. With `spread`
   * (a paced drain), each session is told its own time in the window instead and closed with DRAINED at that time if
   * it is still open. Idempotent.
   */
  drain(reconnectAfterMs: number, url: string, spread?: DrainSpread): void {
    if (this.#fsm.state === 'draining') return;
    this.#drainRequest = { reconnectAfterMs, url, spread: spread !== undefined && spread.windowMs > 0 ? spread : undefined };
    this.#fsm.transition(['running'], 'draining');
  }

  /** Closes every session (`code`, SHUTDOWN by default), flushes CLOSE packets within the deadline, then the app. Idempotent. */
  close(flushTimeoutMs: number, code: number = Code.SHUTDOWN): Promise<void> {
    this.#closed ??= this.#close(flushTimeoutMs, code);
    return this.#closed;
  }

  async #close(flushTimeoutMs: number, code: number): Promise<void> {
    if (this.#fsm.state === 'closed') return;
    const startedAt = performance.now();
    this.#closeCode = code;
    this.#fsm.transition(['starting', 'running', 'draining'], 'closing');
    await Promise.all([this.#backends.close(flushTimeoutMs), this.#edge.close(), this.#accessLog?.flush(flushTimeoutMs)]);
    if (this.#fsm.state === 'closing') this.#fsm.transition(['closing'], 'closed');
    // After the app closed (the last connection spans ended with it), in what is left of the flush deadline.
    await this.#tracing.close(Math.max(0, startedAt + flushTimeoutMs - performance.now()));
  }

  /** Synchronous teardown for fatal paths: the uWS app is closed before the thread may end. */
  abort(err: unknown): void {
    this.#logger.error({ err: errorToWire(err) }, 'worker failed; closing its sessions');
    if (this.#fsm.state === 'closed') return;
    try {
      // Best effort: the close frame may not leave before the app closes the sockets (clients then see 1006).
      for (const session of [...this.#shard.values()]) session.ws.end(Code.INTERNAL_ERROR, 'worker failed');
    } catch {
      // a socket already gone; the app close below ends the rest
    }
    this.#fsm.transition(WorkerStates, 'closed');
    this.#tracing.destroy();
  }

  /** The entry action of every state: what being in `to` implies, in one place. */
  #enter(to: WorkerState): void {
    switch (to) {
      case 'running':
        this.#counters[WorkerSlot.SESSIONS] = 0;
        this.#logger.info({ port: this.#port }, 'worker listening');
        this.#post({ type: 'listening', port: this.#port });
        return;
      case 'draining':
        this.#transport?.stopListening();
        this.#logger.info({ sessions: this.#shard.size, windowMs: this.#drainRequest!.spread?.windowMs ?? 0 }, 'worker draining');
        this.#drainSchedule = sendDrains([...this.#shard.values()], this.#drainRequest!, this.index, this.#sender, (s) => {
          this.#counters[DrainSlot.CLOSES]++;
          s.ws.end(Code.DRAINED, 'gateway drained');
        });
        return;
      case 'closing': {
        this.#transport?.stopListening();
        this.#sweeper.stop();
        this.#drainSchedule?.stop();
        const code = this.#closeCode;
        const reason = code === Code.DRAINED ? 'gateway drained' : 'gateway shutting down';
        if (code === Code.DRAINED) this.#counters[DrainSlot.CLOSES] += this.#shard.size;
        for (const session of [...this.#shard.values()]) session.ws.end(code, reason);
        return;
      }
      case 'closed':
        // Also the fatal path: every step is synchronous, and the app is closed whatever the others do.
        this.#sweeper.stop();
        this.#drainSchedule?.stop();
        this.#clock.stop();
        this.#pauses.stop();
        this.#edge.stop();
        try {
          this.#transport?.close();
        } finally {
          this.#backends.destroy();
          this.#fanout?.close();
          // Last: closing the app above closed the sessions still open, and their lines are written now.
          this.#accessLog?.close();
        }
        return;
      case 'starting':
        return;
    }
  }

  // ClientHandler ---------------------------------------------------------------------------------------------------

  accepting(): boolean {
    return this.#fsm.state === 'running';
  }

  admits(): boolean {
    return this.#fsm.state === 'running' && this.#shard.size < this.#limits.maxConnectionsPerWorker;
  }

  onRefused(): void {
    this.#counters[WorkerSlot.UPGRADES_REFUSED]++;
  }

  onOpen(ws: uWS.WebSocket<SocketData>): void {
    const data = ws.getUserData();
    const id = this.#ids.issue();
    const session = new Session(id, ws, data.path, data.remoteAddress, this.#clock.now);
    data.session = session;
    this.#shard.add(session);
    this.#edge.opened(session, data.grant, this.#clock.now, (s, userId) => this.#subscriptions.bindUser(s, userId));
    this.#counters[WorkerSlot.SESSIONS] = this.#shard.size;
    this.#counters[WorkerSlot.SESSIONS_OPENED]++;
    // Checked first: the line's object is ~260 bytes of garbage per connection when info is not logged.
    if (this.#logger.isLevelEnabled('info')) this.#logger.info({ session: id.text, remote: session.remoteAddress, path: session.path, user: session.userId }, 'connection open');
    this.#tracing.opened(session);
    this.#sender.send(session, encodeWelcome(id.text, this.index, this.#gateName));
  }

  onMessage(ws: uWS.WebSocket<SocketData>, message: ArrayBuffer, isBinary: boolean): void {
    const session = ws.getUserData().session!;
    // First, so that the queue stage includes all the work below; null for all but 1 in metrics.stageSampleEvery.
    const probe = this.#stages.take();
    session.lastSeen = this.#clock.now;
    const counters = this.#counters;
    counters[WorkerSlot.FRAMES_IN]++;
    counters[WorkerSlot.BYTES_IN] += message.byteLength;
    session.framesIn++;
    session.bytesIn += message.byteLength;
    if (this.#faultArmed) {
      this.#faultArmed = false;
      throw new Error('injected fault (faultInjection)');
    }
    // One view serves the rate limit's refusal, the header checks and the payload copy.
    const bytes = new Uint8Array(message);
    // Before anything else, so that a flood costs a few comparisons per message, and ends (session-rates.ts).
    const rates = this.#edge.rates;
    if (rates !== undefined) {
      const verdict = rates.check(session, bytes.length, this.#clock.now);
      if (verdict !== RateVerdict.PASS) return rates.refuse(session, isBinary && bytes.length >= HEADER_BYTES ? bytes : undefined, verdict);
    }
    if (!isBinary) return this.#violation(session, Refuse.TEXT_FRAME, Code.TEXT_NOT_SUPPORTED, 0, 0, 'text messages are not supported');
    const fault = checkFrame(bytes, this.#limits.maxPayloadBytes);
    if (fault !== FrameFault.NONE) {
      const [slot, code, reason] = FAULT_TO_REFUSAL[fault];
      const msgId = bytes.length >= 4 ? readMsgId(bytes) : 0;
      const serverId = bytes.length >= HEADER_BYTES ? readServerId(bytes) : 0;
      return this.#violation(session, slot, code, msgId, serverId, reason);
    }
    const msgId = readMsgId(bytes);
    const serverId = readServerId(bytes);
    if (serverTypeOf(serverId) === 0) {
      if (!handleControl(this.#control, session, msgId, message)) {
        this.#violation(session, Refuse.UNKNOWN_CONTROL, Code.UNKNOWN_CONTROL, msgId, serverId, 'unknown or malformed control message');
      }
      return;
    }
    this.#forward.send(session, bytes, msgId, serverId, probe);
  }

  onClose(ws: uWS.WebSocket<SocketData>, code: number, reason: ArrayBuffer): void {
    const session = ws.getUserData().session;
    if (session === undefined) return;
    const text = Buffer.from(reason).toString();
    this.#tracing.closed(session, code, text);
    this.#release(session, code, text);
    this.#accessLog?.closed(session, code, text); // after the release: it adds what topic publishes sent
    this.#logger.info({ session: session.id, code, reason: text }, 'connection closed');
  }

  onAlive(ws: uWS.WebSocket<SocketData>): void {
    const session = ws.getUserData().session;
    if (session !== undefined) session.lastSeen = this.#clock.now;
  }

  onDrain(ws: uWS.WebSocket<SocketData>): void {
    const session = ws.getUserData().session;
    if (session !== undefined) this.#sweeper.drained(session);
  }

  // Internals -------------------------------------------------------------------------------------------------------

  /** The session ended: everything it held is released here, in one place, and its backends get CLOSE. */
  #release(session: Session, code: number, reason: string): void {
    session.closed = true;
    this.#edge.released(session);
    this.#shard.remove(session);
    this.#sweeper.forget(session);
    this.#subscriptions.release(session);
    for (const [actor, notify] of session.backends.actors()) actor.closeSession(session, code, reason, notify);
    this.#counters[WorkerSlot.SESSIONS] = this.#shard.size;
    this.#counters[WorkerSlot.SESSIONS_CLOSED]++;
  }

  /** A protocol violation: refused like any error, and past the budget the session is closed. */
  #violation(session: Session, slot: number, code: number, msgId: number, serverId: number, reason: string): void {
    this.#sender.refuse(session, slot, code, msgId, serverId, reason);
    if (session.violation(this.#clock.now, this.#limits.maxViolations, this.#limits.violationWindowMs)) {
      this.#counters[WorkerSlot.VIOLATION_CLOSES]++;
      session.ws.end(Code.PROTOCOL_VIOLATION, 'too many protocol violations');
    }
  }
}
