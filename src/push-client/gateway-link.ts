/**
 * One gateway as a push client sees it: a grpc-js `GatewayPush.PushStream` to its push address, opened at once and
 * kept open. States: `connecting` (call started, the gateway's headers not yet seen), `open` (pushes are written),
 * `backoff` (the stream broke; reopened after a full-jitter delay), `closed` (retired: it left, drained or expired).
 *
 * While the stream is not open, pushes are held in a FIFO of at most `maxBuffered`, each for at most
 * `maxBufferAgeMs`; past either they are dropped and reported. Pushes handed to grpc-js on a stream that then breaks
 * may be lost (the stream's answer counts totals, not pushes): the bound on that loss is what grpc-js and the
 * kernel buffer, HTTP/2 flow control keeps it small.
 */
import * as grpc from '@grpc/grpc-js';
import { actorgateV1 } from '../backend/proto.ts';
import { backoffDelayMs } from '../core/backoff.ts';
import type { InstanceEntry } from '../control/registry-entry.ts';
import type { DropReason, GatewayRef, GatewayStatus, PushClientEvent } from './push-client-events.ts';
import type { ResolvedPushClientOptions } from './push-client-options.ts';

/** A push as written on the stream (proto-loader's shape: the session id as a decimal string). */
export interface WirePush {
  sessionId?: string;
  userId?: string;
  topic?: string;
  msgId: number;
  serverId: number;
  payload: Uint8Array;
}

interface RawClient extends grpc.Client {
  PushStream(metadata: grpc.Metadata, callback: (err: grpc.ServiceError | null) => void): grpc.ClientWritableStream<{ pushes: WirePush[] }>;
}

type LinkState = GatewayStatus['state'];

/** What a link reports to its client. */
export interface LinkOwner {
  emit(event: PushClientEvent): void;
  drop(reason: DropReason, count: number, nodeId: number): void;
}

function credentialsFor(entry: InstanceEntry, options: ResolvedPushClientOptions): grpc.ChannelCredentials {
  if (!entry.pushTls) return grpc.credentials.createInsecure();
  const { ca, cert, key } = options.tls;
  const buf = (v: string | Buffer | undefined) => (v === undefined ? null : Buffer.from(v));
  return grpc.credentials.createSsl(buf(ca), buf(key), buf(cert));
}

export class GatewayLink {
  #entry: InstanceEntry;
  readonly ref: GatewayRef;
  readonly #options: ResolvedPushClientOptions;
  readonly #owner: LinkOwner;
  readonly #client: RawClient;
  readonly #metadata = new grpc.Metadata();
  #state: LinkState = 'connecting';
  #call: grpc.ClientWritableStream<{ pushes: WirePush[] }> | undefined;
  /** Held pushes and when each arrived (parallel arrays, a FIFO from `#head`). */
  #queue: WirePush[] = [];
  #queuedAt: number[] = [];
  #head = 0;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #flushScheduled = false;
  /** grpc-js asked us to wait ('drain'). */
  #blocked = false;
  #sent = 0;
  #lastWrite: Promise<void> = Promise.resolve();
  #ended: Promise<void> = Promise.resolve();

  constructor(entry: InstanceEntry, options: ResolvedPushClientOptions, owner: LinkOwner) {
    this.#entry = entry;
    this.ref = Object.freeze({ nodeId: entry.nodeId, name: entry.name, address: entry.pushAddress! });
    this.#options = options;
    this.#owner = owner;
    if (options.apiKey !== null) this.#metadata.set('x-api-key', options.apiKey);
    // This client sends user and topic pushes to every gateway itself: no gateway may republish them on Redis.
    this.#metadata.set('x-actorgate-fanout', 'local');
    const Client = actorgateV1().GatewayPush;
    this.#client = new Client(this.ref.address, credentialsFor(entry, options), {
      'grpc.enable_retries': 0,
      'grpc.keepalive_time_ms': 20_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': options.reconnect.initialMs,
      'grpc.max_reconnect_backoff_ms': options.reconnect.maxMs,
      'grpc.use_local_subchannel_pool': 1,
    }) as unknown as RawClient;
    this.#open();
  }

  /** The gateway's registry entry as last read or announced. */
  get entry(): InstanceEntry {
    return this.#entry;
  }

  get state(): LinkState {
    return this.#state;
  }

  get buffered(): number {
    return this.#queue.length - this.#head;
  }

  status(): GatewayStatus {
    return { ...this.ref, state: this.#state, buffered: this.buffered, sent: this.#sent };
  }

  /** Takes a push for this gateway: written now (open), or held. False when it was dropped (counted by the owner). */
  send(push: WirePush): boolean {
    if (this.#state === 'closed') return false;
    if (this.#state === 'open' && !this.#blocked && this.buffered === 0) {
      this.#enqueue(push);
      this.#scheduleFlush();
      return true;
    }
    if (this.buffered >= this.#options.maxBuffered) {
      this.#owner.drop('overflow', 1, this.ref.nodeId);
      return false;
    }
    this.#enqueue(push);
    if (this.#state === 'open') this.#scheduleFlush();
    else this.#armExpiry();
    return true;
  }

  /** Resolves once what is queued now has been handed to the transport (or the link closed). */
  async flush(): Promise<void> {
    while (this.#state === 'open' && this.buffered > 0) await new Promise((r) => setImmediate(r));
    await this.#lastWrite;
  }

  /**
   * Stops sending here: ends the stream (what was written is delivered), and hands back what was still held.
   * Idempotent.
   */
  retire(): WirePush[] {
    if (this.#state === 'closed') return [];
    if (this.#state === 'open') this.#flushNow();
    const held = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#queuedAt = [];
    this.#head = 0;
    this.#state = 'closed';
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#expiryTimer);
    const call = this.#call;
    this.#call = undefined;
    this.#ended = new Promise<void>((resolve) => {
      if (call === undefined) return resolve();
      const timer = setTimeout(() => {
        call.cancel();
        resolve();
      }, 2000).unref();
      call.on('status', () => {
        clearTimeout(timer);
        resolve();
      });
      call.end();
    }).then(() => this.#client.close());
    return held;
  }

  /** Resolves once a retired link's stream has ended and its channel closed. */
  get ended(): Promise<void> {
    return this.#ended;
  }

  /**
   * A newer entry for the same node id and address: kept, and when it is another process (a restart), the stream is
   * tried at once rather than after the rest of the backoff.
   */
  renew(entry: InstanceEntry): void {
    const restarted = entry.id !== this.#entry.id;
    this.#entry = entry;
    if (!restarted || this.#state !== 'backoff') return;
    clearTimeout(this.#retryTimer);
    this.#attempt = 0;
    this.#open();
  }

  #enqueue(push: WirePush): void {
    this.#queue.push(push);
    this.#queuedAt.push(Date.now());
  }

  #open(): void {
    this.#state = 'connecting';
    this.#blocked = false;
    let failed = false;
    const call = this.#client.PushStream(this.#metadata, (err) => {
      if (failed || this.#call !== call) return;
      failed = true;
      this.#broken(err?.details || err?.message || 'the gateway ended the stream');
    });
    this.#call = call;
    // The gateway sends its headers at once (push-server.ts): from then on writes are really its.
    call.on('metadata', () => {
      if (this.#call !== call || this.#state !== 'connecting') return;
      this.#state = 'open';
      this.#attempt = 0;
      clearTimeout(this.#expiryTimer);
      this.#owner.emit({ type: 'gateway-up', gateway: this.ref });
      this.#flushNow();
    });
    call.on('drain', () => {
      if (this.#call !== call) return;
      this.#blocked = false;
      this.#flushNow();
    });
    call.on('error', () => {}); // reported through the callback
  }

  #broken(error: string): void {
    if (this.#state === 'closed') return;
    this.#call = undefined;
    this.#state = 'backoff';
    const retryInMs = Math.round(backoffDelayMs(this.#attempt++, this.#options.reconnect));
    this.#owner.emit({ type: 'gateway-down', gateway: this.ref, error, retryInMs });
    this.#retryTimer = setTimeout(() => this.#open(), retryInMs).unref();
    this.#armExpiry();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Pushes made in one turn go out as one batch.
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.#flushNow();
    });
  }

  #flushNow(): void {
    const call = this.#call;
    if (call === undefined || this.#state !== 'open') return;
    const max = this.#options.maxBatchPushes;
    while (!this.#blocked && this.buffered > 0) {
      const end = Math.min(this.#queue.length, this.#head + max);
      const pushes = this.#queue.slice(this.#head, end);
      this.#head = end;
      this.#sent += pushes.length;
      let done!: () => void;
      this.#lastWrite = new Promise<void>((resolve) => (done = resolve));
      if (!call.write({ pushes }, () => done())) this.#blocked = true;
    }
    if (this.buffered === 0) {
      this.#queue = [];
      this.#queuedAt = [];
      this.#head = 0;
    }
  }

  /** While pushes are held, drops those older than maxBufferAgeMs. */
  #armExpiry(): void {
    if (this.#expiryTimer !== undefined || this.buffered === 0) return;
    const maxAge = this.#options.maxBufferAgeMs;
    const wait = Math.max(10, this.#queuedAt[this.#head]! + maxAge - Date.now());
    this.#expiryTimer = setTimeout(() => {
      this.#expiryTimer = undefined;
      if (this.#state === 'open' || this.#state === 'closed') return;
      const cutoff = Date.now() - maxAge;
      let expired = 0;
      while (this.buffered > 0 && this.#queuedAt[this.#head]! <= cutoff) {
        this.#head++;
        expired++;
      }
      if (expired > 0) this.#owner.drop('expired', expired, this.ref.nodeId);
      // Keep the arrays as long as what they hold.
      this.#queue = this.#queue.slice(this.#head);
      this.#queuedAt = this.#queuedAt.slice(this.#head);
      this.#head = 0;
      this.#armExpiry();
    }, wait).unref();
  }
}
