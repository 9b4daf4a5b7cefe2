/**
 * A backend stream actor: owns one GameGateway.StreamPackets stream to one endpoint, for one worker.
 *
 * Intake is `send()` (DATA; refused at the mailbox bound) and `closeSession()` (CLOSE; always queued). A flush drains
 * the mailbox into one PacketBatch per write and keeps exactly one batch in flight: the next write waits for the
 * previous one's callback, which grpc-js fires only once HTTP/2 flow control let it through. So a backend that reads
 * slowly stalls only this actor, and the gateway holds at most the mailbox bound plus one batch for it.
 *
 * OPEN is not queued: the flush emits it just before a session's first DATA *on the current stream*, so after a
 * reconnect every session is re-opened on the new stream before its next DATA, and CLOSE is sent only for sessions
 * the current stream has seen.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../core/logger.ts';
import type { BackendOptions } from '../core/options.ts';
import { EndpointSlot } from '../core/counters.ts';
import { createGameGatewayClient, type GameGatewayClient } from './grpc-channel.ts';
import { StreamMailbox } from './stream-mailbox.ts';
import { StreamStateMachine, StreamStates, type StreamState } from './stream-state.ts';
import { PacketKind, type Packet, type PacketBatch } from './proto.ts';

/** What the actor needs to know about a session to OPEN it on a stream. */
export interface SessionInfo {
  readonly id: string;
  readonly path: string;
  readonly remoteAddress: string;
  userId: string | undefined;
}

export interface StreamActorOptions {
  endpoint: string;
  /** `<gateway name>/<worker index>`, sent as `gate-name` metadata. */
  gateName: string;
  worker: number;
  backend: Readonly<BackendOptions>;
  /** This endpoint's counter slots (see counters.ts). */
  counters: Float64Array;
  logger: Logger;
  /** Backend → gateway packets, in stream order. */
  onPacket: (packet: Packet, from: StreamActor) => void;
}

const UNIMPLEMENTED = grpc.status.UNIMPLEMENTED;

export class StreamActor {
  readonly endpoint: string;
  readonly mailbox: StreamMailbox;
  readonly #options: StreamActorOptions;
  readonly #logger: Logger;
  readonly #counters: Float64Array;
  readonly #fsm: StreamStateMachine;
  readonly #client: GameGatewayClient;
  /** Sessions bound to this endpoint (OPEN info), by id. */
  readonly #sessions = new Map<string, SessionInfo>();
  /** Sessions that got an OPEN on the current stream. */
  #opened = new Set<string>();
  #call: grpc.ClientDuplexStream<unknown, unknown> | undefined;
  #inFlight = false;
  #flushScheduled = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;
  #onIdle: (() => void) | undefined;
  #notifyUnimplemented = false;
  readonly #flush = () => {
    this.#flushScheduled = false;
    this.#write();
  };
  readonly #afterWrite = (err?: Error | null) => this.#written(err);

  constructor(options: StreamActorOptions) {
    this.endpoint = options.endpoint;
    this.#options = options;
    this.#logger = options.logger.child({ endpoint: options.endpoint });
    this.#counters = options.counters;
    this.mailbox = new StreamMailbox(options.backend.mailboxCapacity);
    this.#fsm = new StreamStateMachine(this.#logger, (state) => {
      this.#counters[EndpointSlot.STREAM_STATE] = StreamStates.indexOf(state);
    });
    this.#client = createGameGatewayClient(options.endpoint, options.backend);
  }

  get state(): StreamState {
    return this.#fsm.state;
  }

  /** Bound sessions (the backend's view of this worker's sessions on this endpoint). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  start(): void {
    if (this.#fsm.transition(['idle'], 'connecting')) this.#connect();
  }

  /** Binds a session to this endpoint; its OPEN goes out before its first DATA. */
  bind(session: SessionInfo, notify: boolean): void {
    if (this.#sessions.has(session.id)) return;
    this.#sessions.set(session.id, session);
    if (notify) this.#notify('NotifyConnect', session, 0, '');
  }

  /** Queues a client message. False when the mailbox is full or the actor is closing: the caller refuses it. */
  send(packet: Packet): boolean {
    const state = this.#fsm.state;
    if (state === 'closing' || state === 'closed') return false;
    if (!this.mailbox.offer(packet, performance.now())) {
      this.#counters[EndpointSlot.MAILBOX_REJECTED]++;
      return false;
    }
    this.#counters[EndpointSlot.MAILBOX_DEPTH] = this.mailbox.dataCount;
    this.#schedule();
    return true;
  }

  /** The session ended: CLOSE follows its last DATA on the stream. */
  closeSession(sessionId: string, code: number, reason: string, notify: boolean): void {
    const session = this.#sessions.get(sessionId);
    if (session === undefined) return;
    this.#sessions.delete(sessionId);
    if (notify) this.#notify('NotifyDisconnect', session, code, reason);
    if (this.#fsm.state === 'closed') return;
    this.mailbox.pushLifecycle({ sessionId, kind: PacketKind.CLOSE, code, reason }, performance.now());
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
        this.destroy();
        resolve();
      };
      const timer = setTimeout(finish, deadlineMs);
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
    this.#onIdle = undefined;
    const dropped = this.mailbox.size;
    if (dropped > 0) {
      this.#counters[EndpointSlot.DROPPED_ON_DESTROY] += dropped;
      this.mailbox.clear();
    }
    this.#counters[EndpointSlot.MAILBOX_DEPTH] = 0;
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

  #connect(): void {
    // Wait for the channel before opening the stream, so the first batch is not written into a call that is
    // about to fail with UNAVAILABLE (it would be lost in flight).
    const deadline = Date.now() + this.#options.backend.reconnectMaxMs + this.#options.backend.keepaliveTimeoutMs;
    this.#client.waitForReady(deadline, (err) => {
      if (this.#fsm.state !== 'connecting') return;
      if (err) return this.#streamFailed(err);
      this.#openStream();
    });
  }

  #openStream(): void {
    const metadata = new grpc.Metadata();
    metadata.set('gate-name', this.#options.gateName);
    const call = this.#client.StreamPackets(metadata);
    this.#call = call;
    this.#opened = new Set();
    this.#inFlight = false;
    call.on('data', (batch: PacketBatch) => {
      const packets = batch.packets;
      this.#counters[EndpointSlot.PACKETS_RECEIVED] += packets.length;
      for (let i = 0; i < packets.length; i++) this.#options.onPacket(packets[i]!, this);
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
    this.#attempt = 0;
    this.#logger.info({ gateName: this.#options.gateName }, 'backend stream open');
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
    const queued: Packet[] = [];
    this.mailbox.drainInto(queued, this.#options.backend.maxBatchPackets, this.#options.backend.maxBatchBytes);
    this.#counters[EndpointSlot.MAILBOX_DEPTH] = this.mailbox.dataCount;
    const packets = this.#withLifecycle(queued);
    if (packets.length === 0) return this.#write();
    this.#inFlight = true;
    this.#counters[EndpointSlot.PACKETS_SENT] += packets.length;
    this.#counters[EndpointSlot.BATCHES_SENT]++;
    call.write({ packets }, this.#afterWrite);
  }

  /** Adds OPEN before a session's first DATA on this stream and drops CLOSE for sessions it never saw. */
  #withLifecycle(queued: Packet[]): Packet[] {
    const opened = this.#opened;
    let out: Packet[] | undefined;
    for (let i = 0; i < queued.length; i++) {
      const packet = queued[i]!;
      const id = packet.sessionId!;
      if (packet.kind === PacketKind.CLOSE) {
        if (opened.delete(id)) out?.push(packet);
        else out ??= queued.slice(0, i);
        continue;
      }
      if (!opened.has(id)) {
        opened.add(id);
        out ??= queued.slice(0, i);
        out.push(this.#openPacket(id));
      }
      out?.push(packet);
    }
    return out ?? queued;
  }

  #openPacket(id: string): Packet {
    const session = this.#sessions.get(id);
    return {
      sessionId: id,
      kind: PacketKind.OPEN,
      userId: session?.userId ?? '',
      path: session?.path ?? '',
      remoteAddress: session?.remoteAddress ?? '',
    };
  }

  #written(err?: Error | null): void {
    this.#inFlight = false;
    if (err) return;
    if (this.mailbox.size > 0) this.#schedule();
    else this.#onIdle?.();
  }

  #streamFailed(err: Error): void {
    const call = this.#call;
    this.#call = undefined;
    if (this.#inFlight) {
      this.#inFlight = false;
      this.#counters[EndpointSlot.DROPPED_IN_FLIGHT]++;
    }
    call?.cancel();
    if (this.#fsm.state === 'closing') {
      this.#onIdle = undefined;
      this.destroy();
      return;
    }
    if (!this.#fsm.transition(['connecting', 'ready'], 'backoff')) return;
    this.#counters[EndpointSlot.STREAM_FAILURES]++;
    const { reconnectInitialMs, reconnectMaxMs, reconnectMultiplier } = this.#options.backend;
    const ceiling = Math.min(reconnectMaxMs, reconnectInitialMs * reconnectMultiplier ** this.#attempt);
    const delay = Math.random() * ceiling; // full jitter
    this.#attempt++;
    if (this.#attempt === 1) this.#logger.warn({ err: err.message }, 'backend stream down; reconnecting');
    this.#retryTimer = setTimeout(() => {
      if (this.#fsm.transition(['backoff'], 'connecting')) this.#connect();
    }, delay);
  }

  #notify(method: 'NotifyConnect' | 'NotifyDisconnect', session: SessionInfo, code: number, reason: string): void {
    if (this.#notifyUnimplemented || this.#fsm.state === 'closed') return;
    const event = {
      sessionId: session.id,
      userId: session.userId ?? '',
      remoteAddress: session.remoteAddress,
      gateName: this.#options.gateName,
      worker: this.#options.worker,
      attributes: { path: session.path },
      code,
      reason,
    };
    const deadline = Date.now() + this.#options.backend.notifyTimeoutMs;
    this.#client[method](event, new grpc.Metadata(), { deadline }, (err) => {
      if (err === null) return;
      if (err.code === UNIMPLEMENTED) {
        // Backends written against the streaming contract only: stop asking.
        this.#notifyUnimplemented = true;
        this.#logger.info({ method }, 'backend does not implement session notifications; not calling them again');
        return;
      }
      this.#counters[EndpointSlot.NOTIFY_FAILURES]++;
    });
  }
}
