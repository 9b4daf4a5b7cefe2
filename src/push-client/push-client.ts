/**
 * The push client for logic servers (`actorgate/push-client`): finds the gateways in the registry (docs/PROTOCOL.md,
 * "Gateway registry"), keeps one `GatewayPush.PushStream` to each live one (gateway-link.ts), and routes each push:
 *
 * - a session push to the one gateway whose node id its id carries (bits 20–32): no Redis hop;
 * - a user or topic push to every live gateway (`fanout: 'direct'`, each delivering locally only), or once on Redis
 *   (`fanout: 'redis'`).
 *
 * It watches `<prefix>instances` for joins, state changes and leaves, and reads the registry again every `refreshMs`
 * for instances that died without leaving (their entry expires). A draining or departed gateway gets nothing more.
 */
import { Packr } from 'msgpackr';
import { parseSessionId } from '../core/session-id.ts';
import { createRedisClient, type RedisClient } from '../control/redis-client.ts';
import { sessionChannel, topicChannel, userChannel } from '../control/redis-channels.ts';
import { instancesChannel, parseAnnouncement, type InstanceEntry } from '../control/registry-entry.ts';
import { listInstances } from '../control/registry-read.ts';
import { GatewayLink, type LinkOwner, type WirePush } from './gateway-link.ts';
import { DROP_REASONS, type DropReason, type PushClientEvent, type PushClientStats } from './push-client-events.ts';
import { resolvePushClientOptions, type PushClientOptions, type ResolvedPushClientOptions } from './push-client-options.ts';

/** One push: exactly one target, the frame's `msgId` and `serverId` (serverType ≠ 0), and the payload. */
export type Push = ({ sessionId: string | bigint; userId?: never; topic?: never } | { userId: string; sessionId?: never; topic?: never } | { topic: string; sessionId?: never; userId?: never }) & {
  msgId: number;
  serverId: number;
  payload: Uint8Array;
};

// The Redis envelope (docs/PROTOCOL.md §10): a plain msgpack map, no origin (no gateway skips it).
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export class PushClient implements AsyncDisposable {
  readonly #options: ResolvedPushClientOptions;
  readonly #redis: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #links = new Map<number, GatewayLink>();
  readonly #dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  #direct = 0;
  #viaRedis = 0;
  #refreshTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #refreshing: Promise<void> | undefined;
  readonly #owner: LinkOwner = {
    emit: (event) => this.#emit(event),
    drop: (reason, count, nodeId) => this.#drop(reason, count, nodeId),
  };

  /** Use `connectPushClient()`, which also reads the registry once before it resolves. */
  constructor(options: PushClientOptions) {
    this.#options = resolvePushClientOptions(options);
    const redisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2000 };
    this.#redis = createRedisClient(this.#options.redis, { ...redisOptions, lazyConnect: true });
    this.#subscriber = createRedisClient(this.#options.redis, { lazyConnect: true });
    this.#redis.on('error', () => {});
    this.#subscriber.on('error', () => {});
  }

  /** Connects to Redis, subscribes to the announcements and reads the registry; streams open in the background. */
  async start(): Promise<void> {
    const channel = instancesChannel(this.#options.redis.prefix);
    let subscribed = false;
    this.#subscriber.on('message', (from: string, text: string) => {
      if (from === channel) this.#onAnnouncement(text);
    });
    // A resubscribe after a reconnect may have missed announcements: read the whole registry again.
    this.#subscriber.on('ready', () => {
      if (subscribed) void this.refresh();
    });
    await Promise.all([this.#redis.connect(), this.#subscriber.connect()]);
    await this.#subscriber.subscribe(channel);
    subscribed = true;
    await this.refresh();
    this.#refreshTimer = setInterval(() => void this.refresh(), this.#options.refreshMs).unref();
  }

  /** Sends one push (see `Push`); never throws, never waits. A push that cannot be sent is dropped and reported. */
  push(push: Push): void {
    if (this.#closing !== undefined) return this.#drop('closed', 1);
    const { msgId, serverId, payload } = push;
    if (push.sessionId !== undefined && push.userId === undefined && push.topic === undefined) {
      let id: bigint;
      try {
        id = typeof push.sessionId === 'bigint' ? push.sessionId : BigInt(push.sessionId);
      } catch {
        return this.#drop('invalid', 1);
      }
      if (id < 0n || id >= 1n << 64n) return this.#drop('invalid', 1);
      this.#pushSession(id, { sessionId: id.toString(), msgId, serverId, payload });
    } else if (push.userId !== undefined && push.sessionId === undefined && push.topic === undefined) {
      this.#pushAll({ userId: push.userId, msgId, serverId, payload }, userChannel(this.#options.redis.prefix, push.userId));
    } else if (push.topic !== undefined && push.sessionId === undefined && push.userId === undefined) {
      this.#pushAll({ topic: push.topic, msgId, serverId, payload }, topicChannel(this.#options.redis.prefix, push.topic));
    } else this.#drop('invalid', 1);
  }

  pushToSession(sessionId: string | bigint, msgId: number, serverId: number, payload: Uint8Array): void {
    this.push({ sessionId, msgId, serverId, payload });
  }

  pushToUser(userId: string, msgId: number, serverId: number, payload: Uint8Array): void {
    this.push({ userId, msgId, serverId, payload });
  }

  pushToTopic(topic: string, msgId: number, serverId: number, payload: Uint8Array): void {
    this.push({ topic, msgId, serverId, payload });
  }

  /** Resolves once every push made so far to an open stream has been handed to the transport. */
  async flush(): Promise<void> {
    await Promise.all([...this.#links.values()].map((link) => link.flush()));
  }

  /** The gateways known now (live in the registry and not draining). */
  gateways(): InstanceEntry[] {
    return [...this.#links.values()].map((link) => link.entry);
  }

  stats(): PushClientStats {
    return {
      direct: this.#direct,
      viaRedis: this.#viaRedis,
      dropped: { ...this.#dropped },
      gateways: [...this.#links.values()].map((link) => link.status()),
    };
  }

  /** Reads the registry and brings the streams in line with it: opens new ones, retires departed and draining ones. */
  refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const entries = await listInstances(this.#redis, this.#options.redis.prefix);
        if (this.#closing !== undefined) return;
        const live = new Set<number>();
        for (const entry of entries) {
          live.add(entry.nodeId);
          this.#apply(entry);
        }
        for (const [nodeId, link] of this.#links) if (!live.has(nodeId)) this.#retire(link, 'expired');
      } catch {
        // Redis unreachable: keep the streams as they are until it answers.
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** Ends every stream (what was written is delivered), drops what is still held, and disconnects. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#refreshTimer);
      // A gateway that stopped reading cannot hold close() up for long.
      await Promise.race([this.flush(), new Promise((r) => setTimeout(r, 2000).unref())]);
      const links = [...this.#links.values()];
      this.#links.clear();
      for (const link of links) {
        const held = link.retire();
        if (held.length > 0) this.#drop('closed', held.length, link.ref.nodeId);
      }
      await Promise.all(links.map((link) => link.ended));
      this.#subscriber.disconnect();
      this.#redis.disconnect();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #pushSession(id: bigint, wire: WirePush): void {
    const { nodeId, worker } = parseSessionId(id);
    if (this.#options.sessions === 'direct') {
      const link = this.#links.get(nodeId);
      if (link !== undefined) {
        if (link.send(wire)) this.#direct++;
        return;
      }
      if (this.#options.unreachableOwner === 'drop') return this.#drop('no-gateway', 1, nodeId);
    }
    this.#publish(sessionChannel(this.#options.redis.prefix, nodeId, worker), wire, nodeId);
  }

  #pushAll(wire: WirePush, channel: string): void {
    if (this.#options.fanout === 'redis') return this.#publish(channel, wire);
    if (this.#links.size === 0) return this.#drop('no-gateway', 1);
    for (const link of this.#links.values()) if (link.send(wire)) this.#direct++;
  }

  #publish(channel: string, wire: WirePush, nodeId?: number): void {
    const envelope: Record<string, unknown> = { msgId: wire.msgId, serverId: wire.serverId, payload: wire.payload };
    if (wire.sessionId !== undefined) envelope.session = wire.sessionId;
    this.#viaRedis++;
    // The gateways' fan-out channels are sharded on a cluster (SSUBSCRIBE): SPUBLISH reaches them there.
    const message = packr.pack(envelope);
    const sent = this.#options.redis.cluster === null ? this.#redis.publish(channel, message) : this.#redis.spublish(channel, message);
    (sent as Promise<number>).catch(() => this.#drop('redis-failed', 1, nodeId));
  }

  #onAnnouncement(text: string): void {
    const announcement = parseAnnouncement(text);
    if (announcement === undefined || this.#closing !== undefined) return;
    const { event, instance } = announcement;
    if (event === 'leave') {
      const link = this.#links.get(instance.nodeId);
      if (link !== undefined && link.entry.id === instance.id) this.#retire(link, 'left');
    } else this.#apply(instance);
  }

  /** One entry as read or announced: a new gateway gets a stream, a draining one loses its stream. */
  #apply(entry: InstanceEntry): void {
    const link = this.#links.get(entry.nodeId);
    if (entry.state === 'draining' || entry.pushAddress === null) {
      if (link !== undefined) this.#retire(link, 'draining');
      return;
    }
    if (link !== undefined) {
      // The same address (a state change, a refresh, or a restart in place): the same stream, and its held pushes.
      if (link.ref.address === entry.pushAddress && link.entry.pushTls === entry.pushTls) return link.renew(entry);
      this.#retire(link, 'replaced');
    }
    const added = new GatewayLink(entry, this.#options, this.#owner);
    this.#links.set(entry.nodeId, added);
    this.#emit({ type: 'gateway-added', gateway: added.ref });
  }

  #retire(link: GatewayLink, reason: 'left' | 'draining' | 'expired' | 'replaced'): void {
    if (this.#links.get(link.ref.nodeId) === link) this.#links.delete(link.ref.nodeId);
    const held = link.retire();
    this.#emit({ type: 'gateway-removed', gateway: link.ref, reason });
    if (held.length === 0) return;
    // Held session pushes may still reach their session through Redis (a draining gateway keeps its sessions a while).
    let dropped = 0;
    for (const wire of held) {
      if (wire.sessionId !== undefined && this.#options.unreachableOwner === 'redis') {
        const { nodeId, worker } = parseSessionId(wire.sessionId);
        this.#publish(sessionChannel(this.#options.redis.prefix, nodeId, worker), wire, nodeId);
      } else dropped++;
    }
    if (dropped > 0) this.#drop('gateway-gone', dropped, link.ref.nodeId);
  }

  #drop(reason: DropReason, count: number, nodeId?: number): void {
    this.#dropped[reason] += count;
    this.#emit(nodeId === undefined ? { type: 'drop', reason, count } : { type: 'drop', reason, count, nodeId });
  }

  #emit(event: PushClientEvent): void {
    try {
      this.#options.onEvent(event);
    } catch {
      // A caller's handler must not break routing.
    }
  }
}

/**
 * Creates a push client, connects it to the registry's Redis and reads the registry once; streams to the gateways
 * open in the background (pushes made meanwhile are held, within `maxBuffered` and `maxBufferAgeMs`). Rejects when
 * Redis cannot be reached.
 */
export async function connectPushClient(options: PushClientOptions): Promise<PushClient> {
  const client = new PushClient(options);
  try {
    await client.start();
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}
