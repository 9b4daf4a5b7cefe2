/**
 * A backend stream actor: owns one GameGateway.StreamPackets stream to one endpoint, for one worker.
 *
 * Intake is `send()` (DATA, SUBSCRIBE requests; refused at the mailbox bound or at the session's share of it, or fast
 * while the circuit is open) and `closeSession()` (CLOSE; always queued). A flush drains the mailbox (one packet per
 * session in turn) into one PacketBatch per write and keeps exactly one batch in flight: the next write waits for
 * the previous one's callback, which grpc-js fires only once HTTP/2 flow control let it through. So a backend that
 * reads slowly stalls only this actor, and the gateway holds at most the mailbox bound plus one batch for it. The
 * batch's serialized size is known exactly (the actor's own serializer sees it) and kept in a gauge with its peak, as
 * is the mailbox's peak depth.
 *
 * Each opened stream is one StreamCall (stream-call.ts), made on entering `ready` and dropped on leaving it, with
 * the batch in flight and the sessions OPENed on it. OPEN is not queued: the flush emits it just before a session's
 * first DATA *on the current stream*, so after a reconnect every session is re-opened on the new stream before its
 * next DATA, and CLOSE is sent only for sessions the current stream has seen.
 *
 * The state (stream-state.ts) changes only through `#fsm.transition`; `#enter` is the one entry action.
 *
 * A packet carrying a probe (packet-probe.ts: a sampled or traced message) is reported to the endpoint's ProbeSink
 * when it is taken into a batch and when that batch's write ends. The probes are picked up while the batch is filled
 * and kept with the batch in flight, so a batch without any costs one comparison per packet and no clock read.
 *
 * Health (`#tick`, on an unref'd timer): a write pending past `writeStallMs` counts as a failure, and so does a stream
 * failure; enough of them open the circuit (circuit-breaker.ts). While the stream is down, queued DATA older than
 * `maxQueueAgeMs` is handed back with BACKEND_EXPIRED. An endpoint unhealthy past `failoverAfterMs` releases its
 * sessions so the worker can rebind them elsewhere. A failed stream is retried after a backoff (core/backoff.ts).
 */
import * as grpc from '@grpc/grpc-js';
import type { CoarseClock } from '../core/coarse-clock.ts';
import type { Logger } from '../core/logger.ts';
import type { BackendOptions } from '../core/options.ts';
import { EndpointSlot } from '../core/counters.ts';
import { backoffDelayMs, type BackoffPolicy } from '../core/backoff.ts';
import { sessionKey } from '../core/session-id.ts';
import { StateMachine } from '../core/state-machine.ts';
import { Code } from '../protocol/codes.ts';
import { StreamHealth } from './stream-health.ts';
import { createGameGatewayClient, whenChannelReady, type GameGatewayClient } from './grpc-channel.ts';
import { StreamCall, type StreamCallEvents } from './stream-call.ts';
import { StreamMailbox } from './stream-mailbox.ts';
import { StreamStates, type StreamState } from './stream-state.ts';
import { PacketKind } from './proto.ts';
import { sessionPacket, type StreamBatch, type StreamPacket } from './stream-packet.ts';
import type { PacketProbe, ProbeSink } from './packet-probe.ts';
import { notifySession } from './session-notify.ts';
import { StreamSessions, type SessionInfo } from './stream-sessions.ts';

export type { SessionInfo } from './stream-sessions.ts';

export const SendResult = {
  QUEUED: 0,
  /** the mailbox is at its bound: BACKEND_OVERLOADED */
  FULL: 1,
  /** circuit open or actor closing: BACKEND_UNAVAILABLE */
  UNAVAILABLE: 2,
  /** the session holds its share of the mailbox (backend.maxQueuedPerSession): BACKEND_OVERLOADED */
  SESSION_FULL: 3,
} as const;
export type SendResultValue = (typeof SendResult)[keyof typeof SendResult];

export interface StreamActorOptions {
  endpoint: string;
  /** `<gateway name>/<worker index>`, sent as `gate-name` metadata. */
  gateName: string;
  worker: number;
  backend: Readonly<BackendOptions>;
  /** This endpoint's counter slots (see counters.ts). */
  counters: Float64Array;
  logger: Logger;
  /** The worker's coarse clock: mailbox entries are stamped with it. */
  clock: CoarseClock;
  /** Backend → gateway packets, one received batch at a time, in stream order. */
  onBatch: (packets: StreamPacket[], from: StreamActor) => void;
  /** A queued packet that will not be sent (expired, failed over); the worker tells its client `code`. */
  onDropped: (packet: StreamPacket, code: number) => void;
  /** The endpoint stayed unhealthy past failoverAfterMs: the sessions with these keys are no longer bound to it. */
  onFailover: (sessionKeys: number[], from: StreamActor) => void;
  /** Told of the packets that carry a probe (packet-probe.ts): taken into a batch, written. */
  probes?: ProbeSink | null;
}

/** An empty batch: written in half-open state to prove the backend reads again. */
const PROBE: StreamBatch = { packets: [] };
const LIVE: readonly StreamState[] = ['idle', 'connecting', 'ready', 'backoff'];

export class StreamActor {
  readonly endpoint: string;
  readonly mailbox: StreamMailbox;
  readonly #options: StreamActorOptions;
  readonly #backend: Readonly<BackendOptions>;
  readonly #logger: Logger;
  readonly #counters: Float64Array;
  readonly #clock: CoarseClock;
  readonly #fsm: StateMachine<StreamState>;
  readonly #health: StreamHealth;
  readonly #client: GameGatewayClient;
  readonly #sessions = new StreamSessions();
  readonly #backoff: BackoffPolicy;
  readonly #healthTimer: NodeJS.Timeout;
  readonly #notifyState = { unimplemented: false };
  readonly #probes: ProbeSink | null;
  /** The probes of the batch being filled, handed to the call with it (reused: usually empty). */
  readonly #batchProbes: PacketProbe[] = [];
  /** What one expiry takes out of the mailbox (reused: usually empty). */
  readonly #expired: StreamPacket[] = [];
  /** The open stream: set in `ready` (and `closing` entered from it), undefined in every other state. */
  #call: StreamCall | undefined;
  #flushScheduled = false;
  #attempt = 0;
  #lastError = '';
  #retryTimer: NodeJS.Timeout | undefined;
  #closeTimer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;
  readonly #flush = () => {
    this.#flushScheduled = false;
    this.#write();
  };
  readonly #callEvents: StreamCallEvents = {
    received: (packets) => {
      this.#health.dataReceived();
      this.#counters[EndpointSlot.PACKETS_RECEIVED] += packets.length;
      this.#options.onBatch(packets, this);
    },
    written: (bytes) => this.#written(bytes),
    failed: (err) => this.#streamFailed(err),
    ended: () => this.destroy(),
  };

  constructor(options: StreamActorOptions) {
    this.endpoint = options.endpoint;
    this.#options = options;
    this.#backend = options.backend;
    this.#logger = options.logger.child({ endpoint: options.endpoint });
    this.#counters = options.counters;
    this.#clock = options.clock;
    this.#probes = options.probes ?? null;
    this.mailbox = new StreamMailbox(options.backend.mailboxCapacity, options.counters, options.backend.maxQueuedPerSession);
    this.#fsm = new StateMachine<StreamState>('stream actor', 'idle', this.#logger, (to, from) => this.#enter(to, from));
    this.#health = new StreamHealth(options.backend, options.counters, this.#logger);
    this.#client = createGameGatewayClient(options.endpoint, options.backend);
    const b = options.backend;
    this.#backoff = { initialMs: b.reconnectInitialMs, maxMs: b.reconnectMaxMs, multiplier: b.reconnectMultiplier };
    const period = Math.max(10, Math.min(1000, Math.min(b.maxQueueAgeMs, b.writeStallMs, b.circuitOpenMs, b.failoverAfterMs) / 4));
    this.#healthTimer = setInterval(() => this.#tick(performance.now()), period).unref();
  }

  get state(): StreamState {
    return this.#fsm.state;
  }

  /**
   * Whether messages are admitted: actor not closing, and circuit closed (a down stream still queues), or half-open
   * with the stream up (the probe traffic).
   */
  accepting(): boolean {
    const state = this.#fsm.state;
    if (state === 'closing' || state === 'closed') return false;
    return this.#health.admits(state === 'ready');
  }

  /** Whether a session not yet bound should be routed here: accepting, and no outage under way. */
  healthy(): boolean {
    return !this.#health.unhealthy && this.accepting();
  }

  start(): void {
    this.#fsm.transition(['idle'], 'connecting');
  }

  /** Binds a session to this endpoint; its OPEN goes out before its first DATA. */
  bind(session: SessionInfo, notify: boolean): void {
    if (!this.#sessions.bind(session)) return;
    if (notify) this.#notify('NotifyConnect', session, 0, '');
  }

  /** Queues a packet for a bound session, or says why not (the caller refuses it with the matching code). */
  send(packet: StreamPacket): SendResultValue {
    if (!this.accepting()) {
      this.#counters[EndpointSlot.UNAVAILABLE]++;
      return SendResult.UNAVAILABLE;
    }
    if (!this.mailbox.offer(packet, this.#clock.now)) {
      if (this.mailbox.isFull) {
        this.#counters[EndpointSlot.MAILBOX_REJECTED]++;
        return SendResult.FULL;
      }
      this.#counters[EndpointSlot.SESSION_SHARE_REJECTED]++;
      return SendResult.SESSION_FULL;
    }
    this.#sessions.queued(sessionKey(packet.idLo, packet.idHi));
    this.#schedule();
    return SendResult.QUEUED;
  }

  /** The session ended: CLOSE follows its last DATA on the stream (when the stream knows it: StreamSessions.ended). */
  closeSession(session: SessionInfo, code: number, reason: string, notify: boolean): void {
    const bound = this.#sessions.get(session.key);
    if (bound === undefined) return;
    if (notify) this.#notify('NotifyDisconnect', bound, code, reason);
    if (this.#fsm.state === 'closed' || !this.#sessions.ended(session.key, this.#call?.opened)) return;
    const close = sessionPacket(PacketKind.CLOSE, session.idLo, session.idHi);
    close.code = code;
    close.reason = reason;
    this.mailbox.pushLifecycle(close, this.#clock.now);
    this.#schedule();
  }

  /**
   * Graceful: stop intake, flush what is queued (CLOSE packets included) within `deadlineMs`, half-close the
   * stream, then close the channel. Idempotent.
   */
  close(deadlineMs: number): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (this.#fsm.state === 'closed') return resolve();
      this.#resolveClosed = resolve;
      this.#closeTimer = setTimeout(() => this.destroy(), deadlineMs);
      this.#fsm.transition(LIVE, 'closing');
    });
    return this.#closed;
  }

  /** Forced: cancel the stream, drop the mailbox (counted), close the channel. Idempotent. */
  destroy(): void {
    if (this.#fsm.state !== 'closed') this.#fsm.transition(StreamStates, 'closed');
  }

  /** The entry action of every state: what being in `to` implies, in one place. */
  #enter(to: StreamState, from: StreamState): void {
    this.#counters[EndpointSlot.STREAM_STATE] = StreamStates.indexOf(to);
    switch (to) {
      case 'connecting':
        return this.#connect();
      case 'ready':
        if (this.#attempt > 0) this.#logger.info({ attempts: this.#attempt }, 'backend stream reconnected');
        else this.#logger.info({ gateName: this.#options.gateName }, 'backend stream open');
        this.#attempt = 0;
        this.#health.streamOpened();
        return this.#write();
      case 'backoff': {
        this.#dropCall();
        this.#counters[EndpointSlot.STREAM_FAILURES]++;
        this.#health.streamFailed(performance.now());
        if (this.#attempt === 0) this.#logger.warn({ err: this.#lastError }, 'backend stream down; reconnecting');
        const delay = backoffDelayMs(this.#attempt, this.#backoff);
        this.#attempt++;
        this.#retryTimer = setTimeout(() => this.#fsm.transition(['backoff'], 'connecting'), delay);
        return;
      }
      case 'closing':
        clearTimeout(this.#retryTimer);
        // Only a stream that is up has anything to flush to.
        if (from !== 'ready') return this.destroy();
        return this.#write();
      case 'closed': {
        clearTimeout(this.#retryTimer);
        clearTimeout(this.#closeTimer);
        clearInterval(this.#healthTimer);
        const dropped = this.mailbox.size;
        if (dropped > 0) {
          this.#counters[EndpointSlot.DROPPED_ON_DESTROY] += dropped;
          this.mailbox.clear();
        }
        this.#sessions.clear();
        this.#dropCall();
        this.#client.close();
        this.#resolveClosed?.();
        return;
      }
      case 'idle':
        return;
    }
  }

  /** Drops the current stream (cancelled; a batch in flight is counted as lost by StreamCall). */
  #dropCall(): void {
    const call = this.#call;
    this.#call = undefined;
    call?.cancel();
  }

  #schedule(): void {
    const call = this.#call;
    if (this.#flushScheduled || call === undefined || call.writing) return;
    this.#flushScheduled = true;
    // setImmediate, not a microtask: every client message of this loop turn lands in the same batch.
    setImmediate(this.#flush);
  }

  /**
   * Waits for the channel before opening the stream, so the first batch is not written into a call that is about to
   * fail (it would be lost in flight). A channel that cannot connect counts as a failure at once (whenChannelReady),
   * so a dead endpoint opens its circuit within a few backoff steps instead of waiting out a connect deadline.
   */
  #connect(): void {
    whenChannelReady(this.#client.getChannel(), this.#backend.reconnectMaxMs + this.#backend.keepaliveTimeoutMs, {
      wanted: () => this.#fsm.state === 'connecting',
      ready: () => this.#openStream(),
      failed: (err) => this.#streamFailed(err),
    });
  }

  #openStream(): void {
    const metadata = new grpc.Metadata();
    metadata.set('gate-name', this.#options.gateName);
    this.#call = new StreamCall(this.#client, metadata, this.#counters, this.#callEvents, this.#probes);
    if (!this.#fsm.transition(['connecting'], 'ready')) this.#dropCall();
  }

  /** Writes the next batch, if the stream is up and nothing is in flight; closing and empty: half-close. */
  #write(): void {
    const call = this.#call;
    if (call === undefined || call.writing || call.ending) return;
    const packets: StreamPacket[] = [];
    const probes = this.#batchProbes;
    const { maxBatchPackets, maxBatchBytes } = this.#backend;
    if (this.mailbox.size > 0) this.#sessions.fillBatch(this.mailbox, call.opened, packets, maxBatchPackets, maxBatchBytes, probes);
    // Empty, or only CLOSEs for sessions this stream never saw were queued: nothing to write.
    if (packets.length === 0) {
      if (this.#fsm.state === 'closing') call.end();
      return;
    }
    this.#counters[EndpointSlot.PACKETS_SENT] += packets.length;
    this.#counters[EndpointSlot.BATCHES_SENT]++;
    const now = performance.now();
    this.#health.writeStarted(now);
    if (probes.length > 0) for (const probe of probes) this.#probes?.mailboxOut(probe, now);
    call.write({ packets }, probes);
  }

  #written(bytes: number): void {
    this.#health.writeCompleted(bytes);
    if (this.mailbox.size > 0) this.#schedule();
    else if (this.#fsm.state === 'closing') this.#call!.end();
  }

  #streamFailed(err: Error): void {
    if (this.#fsm.state === 'closing') return this.destroy();
    this.#lastError = err.message;
    this.#fsm.transition(['connecting', 'ready'], 'backoff');
  }

  #tick(now: number): void {
    const state = this.#fsm.state;
    if (state === 'closing' || state === 'closed') return;
    const call = this.#call;
    const writing = call !== undefined && call.writing;
    const idle = call !== undefined && !writing && this.mailbox.size === 0;
    const { probe, failover } = this.#health.tick(now, writing, idle);
    // Stamps lag real time by up to the clock's longest gap: allow for it, so nothing is expired before its age.
    if (state !== 'ready') this.#expire(now - this.#backend.maxQueueAgeMs - this.#clock.maxGapMs, Code.BACKEND_EXPIRED);
    if (probe) {
      this.#health.writeStarted(now);
      call!.write(PROBE);
    }
    if (failover) this.#failover();
  }

  /** Hands back queued packets enqueued before `before` (all for Infinity) with `code`; drops lifecycle entries. */
  #expire(before: number, code: number): void {
    let expired = 0;
    const packets = this.#expired;
    this.mailbox.expire(before, packets);
    for (const packet of packets) {
      const key = sessionKey(packet.idLo, packet.idHi);
      if (packet.kind === PacketKind.CLOSE) {
        this.#sessions.forget(key);
        continue;
      }
      this.#sessions.dequeued(key);
      expired++;
      this.#options.onDropped(packet, code);
    }
    packets.length = 0;
    if (expired > 0) this.#counters[EndpointSlot.EXPIRED] += expired;
  }

  #failover(): void {
    const keys = this.#sessions.releaseAll();
    // Whatever is still queued would reach this endpoint after its sessions moved elsewhere: hand it back.
    this.#expire(Infinity, Code.BACKEND_EXPIRED);
    this.#counters[EndpointSlot.FAILOVERS] += keys.length;
    this.#logger.warn({ sessions: keys.length }, 'endpoint unhealthy past failoverAfterMs; releasing its sessions');
    if (keys.length > 0) this.#options.onFailover(keys, this);
    // A stream still up (a backend that stopped reading) is torn down: its end tells the backend every session on
    // it is gone, and the actor reconnects to a clean stream.
    if (this.#call !== undefined) this.#streamFailed(new Error('stream stalled past failoverAfterMs'));
  }

  #notify(method: 'NotifyConnect' | 'NotifyDisconnect', session: SessionInfo, code: number, reason: string): void {
    if (this.#fsm.state === 'closed') return;
    notifySession(this.#client, method, session, { gateName: this.#options.gateName, worker: this.#options.worker, code, reason, timeoutMs: this.#backend.notifyTimeoutMs }, this.#notifyState, this.#logger, () => {
      this.#counters[EndpointSlot.NOTIFY_FAILURES]++;
    });
  }
}
