/**
 * A backend stream actor: owns one GameGateway.StreamPackets stream to one endpoint, for one worker.
 *
 * Intake is `send()` (DATA; refused at the mailbox bound, or fast while the circuit is open) and `closeSession()`
 * (CLOSE; always queued). A flush drains the mailbox into one PacketBatch per write and keeps exactly one batch in
 * flight: the next write waits for the previous one's callback, which grpc-js fires only once HTTP/2 flow control let
 * it through. So a backend that reads slowly stalls only this actor, and the gateway holds at most the mailbox bound
 * plus one batch for it. The batch's serialized size is known exactly (the actor's own serializer sees it) and kept
 * in a gauge with its peak, as is the mailbox's peak depth.
 *
 * OPEN is not queued: the flush emits it just before a session's first DATA *on the current stream*, so after a
 * reconnect every session is re-opened on the new stream before its next DATA, and CLOSE is sent only for sessions
 * the current stream has seen.
 *
 * Health (`#tick`, on an unref'd timer): a write pending past `writeStallMs` counts as a failure, and so does a stream
 * failure; enough of them open the circuit (circuit-breaker.ts). While the stream is down, queued DATA older than
 * `maxQueueAgeMs` is handed back with BACKEND_EXPIRED. An endpoint unhealthy past `failoverAfterMs` releases its
 * sessions so the worker can rebind them elsewhere. A failed stream is retried after `backoffDelayMs` (backoff.ts).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../core/logger.ts';
import type { BackendOptions } from '../core/options.ts';
import { EndpointSlot } from '../core/counters.ts';
import { Code } from '../protocol/codes.ts';
import { StreamHealth } from './stream-health.ts';
import { backoffDelayMs, type BackoffPolicy } from './backoff.ts';
import { createGameGatewayClient, openPacketStream, whenChannelReady, type GameGatewayClient } from './grpc-channel.ts';
import { encodePacketBatch } from './packet-codec.ts';
import { StreamMailbox } from './stream-mailbox.ts';
import { StreamStateMachine, StreamStates, type StreamState } from './stream-state.ts';
import { PacketKind, type Packet, type PacketBatch } from './proto.ts';
import { notifySession } from './session-notify.ts';
import { StreamSessions, type SessionInfo } from './stream-sessions.ts';

export type { SessionInfo } from './stream-sessions.ts';

export const SendResult = {
  QUEUED: 0,
  /** the mailbox is at its bound: BACKEND_OVERLOADED */
  FULL: 1,
  /** circuit open or actor closing: BACKEND_UNAVAILABLE */
  UNAVAILABLE: 2,
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
  /** Backend → gateway packets, one received batch at a time, in stream order. */
  onBatch: (packets: Packet[], from: StreamActor) => void;
  /** A queued DATA packet that will not be sent (expired, failed over); the worker tells its client `code`. */
  onDropped: (packet: Packet, code: number) => void;
  /** The endpoint stayed unhealthy past failoverAfterMs: these sessions are no longer bound to it. */
  onFailover: (sessionIds: string[], from: StreamActor) => void;
}

/** An empty batch: written in half-open state to prove the backend reads again. */
const PROBE: PacketBatch = { packets: [] };

export class StreamActor {
  readonly endpoint: string;
  readonly mailbox: StreamMailbox;
  readonly #options: StreamActorOptions;
  readonly #backend: Readonly<BackendOptions>;
  readonly #logger: Logger;
  readonly #counters: Float64Array;
  readonly #fsm: StreamStateMachine;
  readonly #health: StreamHealth;
  readonly #client: GameGatewayClient;
  readonly #sessions = new StreamSessions();
  readonly #backoff: BackoffPolicy;
  /** Packets in the batch being written (lost, and counted, if the stream fails first). */
  #inFlightPackets = 0;
  /** Serialized bytes of the batch being written: set by `#serialize` as grpc-js encodes it. */
  #inFlightBytes = 0;
  #finishClose: (() => void) | undefined;
  #call: grpc.ClientDuplexStream<PacketBatch, PacketBatch> | undefined;
  /** The current stream's write callback: a late callback from a failed stream must not end the new one's write. */
  #afterWrite: (err?: Error | null) => void = () => {};
  #inFlight = false;
  #flushScheduled = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #healthTimer: NodeJS.Timeout;
  #closed: Promise<void> | undefined;
  #onIdle: (() => void) | undefined;
  readonly #notifyState = { unimplemented: false };
  readonly #flush = () => {
    this.#flushScheduled = false;
    this.#write();
  };
  /** grpc-js calls this synchronously inside write(): the exact size of what it now holds for this stream. */
  readonly #serialize = (batch: PacketBatch): Buffer => {
    const bytes = encodePacketBatch(batch);
    const counters = this.#counters;
    this.#inFlightBytes = bytes.length;
    counters[EndpointSlot.IN_FLIGHT_BYTES] = bytes.length;
    if (bytes.length > counters[EndpointSlot.IN_FLIGHT_BYTES_PEAK]!) counters[EndpointSlot.IN_FLIGHT_BYTES_PEAK] = bytes.length;
    return bytes;
  };

  constructor(options: StreamActorOptions) {
    this.endpoint = options.endpoint;
    this.#options = options;
    this.#backend = options.backend;
    this.#logger = options.logger.child({ endpoint: options.endpoint });
    this.#counters = options.counters;
    this.mailbox = new StreamMailbox(options.backend.mailboxCapacity);
    this.#fsm = new StreamStateMachine(this.#logger, (state) => {
      this.#counters[EndpointSlot.STREAM_STATE] = StreamStates.indexOf(state);
    });
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

  get circuit(): string {
    return this.#health.circuit;
  }

  /** Bound sessions (the backend's view of this worker's sessions on this endpoint). */
  get sessionCount(): number {
    return this.#sessions.size;
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
    if (this.#fsm.transition(['idle'], 'connecting')) this.#connect();
  }

  /** Binds a session to this endpoint; its OPEN goes out before its first DATA. */
  bind(session: SessionInfo, notify: boolean): void {
    if (!this.#sessions.bind(session)) return;
    if (notify) this.#notify('NotifyConnect', session, 0, '');
  }

  /** Queues a client message, or says why not (the caller refuses it with the matching code). */
  send(packet: Packet): SendResultValue {
    if (!this.accepting()) {
      this.#counters[EndpointSlot.UNAVAILABLE]++;
      return SendResult.UNAVAILABLE;
    }
    if (!this.mailbox.offer(packet, performance.now())) {
      this.#counters[EndpointSlot.MAILBOX_REJECTED]++;
      return SendResult.FULL;
    }
    this.#sessions.queued(packet.sessionId!);
    const depth = this.mailbox.dataCount;
    const counters = this.#counters;
    counters[EndpointSlot.MAILBOX_DEPTH] = depth;
    if (depth > counters[EndpointSlot.MAILBOX_PEAK]!) counters[EndpointSlot.MAILBOX_PEAK] = depth;
    this.#schedule();
    return SendResult.QUEUED;
  }

  /** The session ended: CLOSE follows its last DATA on the stream (when the stream knows it: StreamSessions.ended). */
  closeSession(sessionId: string, code: number, reason: string, notify: boolean): void {
    const session = this.#sessions.get(sessionId);
    if (session === undefined) return;
    if (notify) this.#notify('NotifyDisconnect', session, code, reason);
    if (this.#fsm.state === 'closed' || !this.#sessions.ended(sessionId)) return;
    this.mailbox.pushLifecycle({ sessionId, sessionIdLo: session.idLo, sessionIdHi: session.idHi, kind: PacketKind.CLOSE, code, reason }, performance.now());
    this.#schedule();
  }

  /**
   * Graceful: stop intake, flush what is queued (CLOSE packets included) within `deadlineMs`, half-close the
   * stream, then close the channel. Idempotent.
   */
  close(deadlineMs: number): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      const wasReady = this.#fsm.state === 'ready';
      if (!this.#fsm.transition(['idle', 'connecting', 'ready', 'backoff'], 'closing')) return resolve();
      clearTimeout(this.#retryTimer);
      const finish = () => {
        clearTimeout(timer);
        this.#finishClose = undefined;
        this.destroy();
        resolve();
      };
      const timer = setTimeout(finish, deadlineMs);
      this.#finishClose = finish;
      if (!wasReady) return finish();
      this.#onIdle = () => {
        const call = this.#call;
        if (call === undefined) return finish();
        call.once('status', finish);
        call.end();
      };
      this.#write();
    });
    return this.#closed;
  }

  /** Forced: cancel the stream, drop the mailbox (counted), close the channel. Idempotent. */
  destroy(): void {
    if (this.#fsm.state === 'closed') return;
    this.#fsm.transition(StreamStates, 'closed');
    clearTimeout(this.#retryTimer);
    clearInterval(this.#healthTimer);
    this.#onIdle = undefined;
    const dropped = this.mailbox.size;
    if (dropped > 0) {
      this.#counters[EndpointSlot.DROPPED_ON_DESTROY] += dropped;
      this.mailbox.clear();
    }
    this.#sessions.clear();
    this.#counters[EndpointSlot.MAILBOX_DEPTH] = 0;
    this.#counters[EndpointSlot.IN_FLIGHT_BYTES] = 0;
    const call = this.#call;
    this.#call = undefined;
    call?.cancel();
    this.#client.close();
  }

  #schedule(): void {
    if (this.#flushScheduled || this.#inFlight || this.#call === undefined) return;
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
    const call = openPacketStream(this.#client, metadata, this.#serialize);
    this.#call = call;
    this.#afterWrite = (err) => {
      if (this.#call === call) this.#written(err);
    };
    this.#sessions.newStream();
    this.#inFlight = false;
    call.on('data', (batch: PacketBatch) => {
      this.#health.dataReceived();
      const packets = batch.packets;
      this.#counters[EndpointSlot.PACKETS_RECEIVED] += packets.length;
      this.#options.onBatch(packets, this);
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (this.#call === call) this.#streamFailed(err);
    });
    call.on('status', (status: grpc.StatusObject) => {
      if (this.#call === call && status.code === grpc.status.OK && this.#fsm.state !== 'closing') {
        this.#streamFailed(new Error('backend ended the stream'));
      }
    });
    if (!this.#fsm.transition(['connecting'], 'ready')) return;
    if (this.#attempt > 0) this.#logger.info({ attempts: this.#attempt }, 'backend stream reconnected');
    else this.#logger.info({ gateName: this.#options.gateName }, 'backend stream open');
    this.#attempt = 0;
    this.#health.streamOpened();
    this.#write();
  }

  #write(): void {
    const call = this.#call;
    const state = this.#fsm.state;
    if (this.#inFlight || call === undefined || (state !== 'ready' && state !== 'closing')) return;
    if (this.mailbox.size === 0) {
      this.#onIdle?.();
      return;
    }
    const packets: Packet[] = [];
    this.#sessions.fillBatch(this.mailbox, packets, this.#backend.maxBatchPackets, this.#backend.maxBatchBytes);
    this.#counters[EndpointSlot.MAILBOX_DEPTH] = this.mailbox.dataCount;
    // Only CLOSEs for sessions this stream never saw were queued: nothing to write.
    if (packets.length === 0) return this.#onIdle?.();
    this.#counters[EndpointSlot.PACKETS_SENT] += packets.length;
    this.#counters[EndpointSlot.BATCHES_SENT]++;
    this.#writeBatch(call, { packets });
  }

  #writeBatch(call: grpc.ClientDuplexStream<PacketBatch, PacketBatch>, batch: PacketBatch): void {
    this.#inFlight = true;
    this.#inFlightPackets = batch.packets.length;
    this.#health.writeStarted(performance.now());
    call.write(batch, this.#afterWrite);
  }

  #written(err?: Error | null): void {
    this.#inFlight = false;
    this.#counters[EndpointSlot.IN_FLIGHT_BYTES] = 0;
    if (err) return;
    this.#health.writeCompleted(this.#inFlightBytes);
    if (this.mailbox.size > 0) this.#schedule();
    else this.#onIdle?.();
  }

  #streamFailed(err: Error): void {
    const now = performance.now();
    const call = this.#call;
    this.#call = undefined;
    if (this.#inFlight) {
      // At-most-once: the batch may or may not have reached the backend; count what was at risk.
      this.#inFlight = false;
      this.#counters[EndpointSlot.DROPPED_IN_FLIGHT] += this.#inFlightPackets;
      this.#counters[EndpointSlot.IN_FLIGHT_BYTES] = 0;
    }
    call?.cancel();
    if (this.#fsm.state === 'closing') {
      this.#onIdle = undefined;
      if (this.#finishClose !== undefined) this.#finishClose();
      else this.destroy();
      return;
    }
    if (!this.#fsm.transition(['connecting', 'ready'], 'backoff')) return;
    this.#counters[EndpointSlot.STREAM_FAILURES]++;
    this.#health.streamFailed(now);
    const delay = backoffDelayMs(this.#attempt, this.#backoff);
    this.#attempt++;
    if (this.#attempt === 1) this.#logger.warn({ err: err.message }, 'backend stream down; reconnecting');
    this.#retryTimer = setTimeout(() => {
      if (this.#fsm.transition(['backoff'], 'connecting')) this.#connect();
    }, delay);
  }

  #tick(now: number): void {
    const state = this.#fsm.state;
    if (state === 'closing' || state === 'closed') return;
    const idle = state === 'ready' && !this.#inFlight && this.#call !== undefined && this.mailbox.size === 0;
    const { probe, failover } = this.#health.tick(now, this.#inFlight, idle);
    if (state !== 'ready') this.#expire(now - this.#backend.maxQueueAgeMs, Code.BACKEND_EXPIRED);
    if (probe) this.#writeBatch(this.#call!, PROBE);
    if (failover) this.#failover();
  }

  /** Hands back queued DATA enqueued before `before` (all of it for Infinity) with `code`; drops lifecycle entries. */
  #expire(before: number, code: number): void {
    let expired = 0;
    while (this.mailbox.oldestTime() < before) {
      const packet = this.mailbox.shift()!;
      if (packet.kind === PacketKind.CLOSE) {
        this.#sessions.forget(packet.sessionId!);
        continue;
      }
      this.#sessions.dequeued(packet.sessionId!);
      expired++;
      this.#options.onDropped(packet, code);
    }
    if (expired === 0) return;
    this.#counters[EndpointSlot.EXPIRED] += expired;
    this.#counters[EndpointSlot.MAILBOX_DEPTH] = this.mailbox.dataCount;
  }

  #failover(): void {
    const ids = this.#sessions.releaseAll();
    // Whatever is still queued would reach this endpoint after its sessions moved elsewhere: hand it back.
    this.#expire(Infinity, Code.BACKEND_EXPIRED);
    this.#counters[EndpointSlot.FAILOVERS] += ids.length;
    this.#logger.warn({ sessions: ids.length }, 'endpoint unhealthy past failoverAfterMs; releasing its sessions');
    if (ids.length > 0) this.#options.onFailover(ids, this);
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
