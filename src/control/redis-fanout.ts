/**
 * A worker's Redis subscriber. Subscriptions follow demand: a topic or user channel is subscribed while at least one
 * local session needs it (reference counted), so Redis sends each worker only what it can deliver. The worker's own
 * session channel is always subscribed. Messages published by this gateway itself (origin = our node id) are skipped
 * on topic and user channels: the gateway delivered those locally already.
 *
 * Nothing queues while Redis is unreachable: the wanted channel set lives in `#refs` (plus the session channel), and
 * every time a connection becomes ready it is subscribed in full; in between, only `#refs` changes. So clients
 * toggling subscriptions during an outage cannot grow a command queue.
 *
 * Standalone (`redis.url`): classic SUBSCRIBE on one connection, which ioredis reconnects; each 'ready' resubscribes.
 * Cluster (`redis.cluster`): SSUBSCRIBE through an ioredis `Cluster` with one sharded subscriber connection per master,
 * each channel sent to the master owning its slot. ioredis keeps those connections: a master that dies has its
 * subscriber dropped and made again, with that master's channels, once the slots answer again (the master restarted,
 * or a replica promoted); the slot map is read again every 5 s, so a resharding is followed too. When the whole
 * cluster is lost, the client is replaced by a new one after the reconnect policy's delay, which subscribes the full
 * set on its 'ready', as a standalone reconnect does.
 *
 * Both modes run the end-to-end probe (redis-health.ts) on the session channel; a missing probe replaces the client.
 */
import { Cluster, Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import type { ResolvedRedis } from '../core/options.ts';
import { RedisSlot } from '../core/counters.ts';
import { redisRetryDelayMs } from './redis-reconnect.ts';
import { clusterSeeds, createRedisClient, throttleSlotRefresh, type RedisClient } from './redis-client.ts';
import { RedisHealth } from './redis-health.ts';
import { keyedItem, sessionItem, Target, type PushItem } from '../push/push-item.ts';
import { decodeEnvelope, decodeProbe, encodeProbe, sessionChannel, topicChannel, userChannel } from './redis-channels.ts';

export interface RedisFanoutOptions {
  redis: ResolvedRedis;
  nodeId: number;
  worker: number;
  logger: Logger;
  /** The worker's counter slots: the probe's state and counts (RedisSlot). */
  counters: Float64Array;
  /** A decoded message for local delivery. */
  onItem: (item: PushItem) => void;
  /** A message that was not a valid envelope (counted). */
  onInvalid: () => void;
}

/** Retrying subscriptions a cluster refused (no subscriber for a slot while its master is away), at most this often. */
const RETRY_MS = 1000;
/** How often a worker's cluster client reads the slot map again. */
const SLOTS_REFRESH_MS = 5000;
/** At most one slot-map read this often by a sharded subscriber (throttleSlotRefresh: an ioredis loop). */
const SLOTS_REFRESH_MIN_MS = 250;

export class RedisFanout {
  readonly #options: RedisFanoutOptions;
  readonly #sharded: boolean;
  readonly #refs = new Map<string, number>();
  readonly #sessionChannel: string;
  /** Channels whose SSUBSCRIBE failed while the cluster was ready: subscribed again by the retry timer. */
  readonly #failed = new Set<string>();
  readonly #health: RedisHealth | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  /** The subscriber; on a standalone server the probe also needs a connection of its own (a subscriber cannot publish). */
  #sub!: RedisClient;
  #probe: Redis | undefined;
  #ready = false;
  #wasReady = false;
  #closed = false;
  /** Cluster clients replaced in a row without one becoming ready: the reconnect policy's attempt. */
  #attempts = 0;
  #replaceTimer: NodeJS.Timeout | undefined;

  constructor(options: RedisFanoutOptions) {
    this.#options = options;
    this.#sharded = options.redis.cluster !== null;
    this.#sessionChannel = sessionChannel(options.redis.prefix, options.nodeId, options.worker);
    const { healthCheckMs } = options.redis;
    if (healthCheckMs > 0) {
      this.#health = new RedisHealth(options.counters, {
        connected: () => this.#ready,
        publish: (seq) => this.#publishProbe(seq),
        replace: () => {
          options.logger.warn({ healthCheckMs }, 'redis subscriber missed its own probe; replacing its connections');
          this.#replace();
        },
        changed: (state, previous) => {
          if (state === 'ok' && previous === 'degraded') options.logger.info('redis subscriber receives its probes again');
        },
      });
      this.#timers.push(setInterval(() => this.#health!.tick(), healthCheckMs).unref());
    }
    if (this.#sharded) this.#timers.push(setInterval(() => this.#retryFailed(), RETRY_MS).unref());
    this.#connect();
  }

  retainTopic(topic: string): void {
    this.#retain(topicChannel(this.#options.redis.prefix, topic));
  }

  releaseTopic(topic: string): void {
    this.#release(topicChannel(this.#options.redis.prefix, topic));
  }

  retainUser(userId: string): void {
    this.#retain(userChannel(this.#options.redis.prefix, userId));
  }

  releaseUser(userId: string): void {
    this.#release(userChannel(this.#options.redis.prefix, userId));
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#replaceTimer);
    this.#drop();
  }

  #connect(): void {
    const { redis, logger } = this.#options;
    if (this.#sharded) {
      const sub = new Cluster(clusterSeeds(redis.cluster!), {
        shardedSubscribers: true,
        enableOfflineQueue: false,
        // No reconnect inside ioredis: a lost cluster is replaced by a fresh client, which subscribes the full set.
        clusterRetryStrategy: () => null,
        // A resharding moves a slot's channels without telling a subscriber that sends no command: the slot map is
        // read again this often, and a changed map resubscribes every channel on its new owner.
        slotsRefreshInterval: SLOTS_REFRESH_MS,
        redisOptions: { maxRetriesPerRequest: null, commandTimeout: redis.healthCheckMs || undefined },
      });
      throttleSlotRefresh(sub, SLOTS_REFRESH_MIN_MS);
      sub.on('end', () => {
        if (this.#sub !== sub || this.#closed) return;
        this.#lost();
        this.#replaceTimer = setTimeout(() => this.#replace(), redisRetryDelayMs(++this.#attempts));
      });
      sub.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.#onMessage(channel.toString(), message));
      this.#sub = sub;
    } else {
      const sub = new Redis(redis.url!, { enableOfflineQueue: false, autoResubscribe: false, maxRetriesPerRequest: null, retryStrategy: redisRetryDelayMs });
      sub.on('close', () => {
        if (this.#sub === sub) this.#lost();
      });
      sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#onMessage(channel.toString(), message));
      this.#sub = sub;
      if (this.#health !== undefined) {
        this.#probe = createRedisClient(redis, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: redis.healthCheckMs, retryStrategy: redisRetryDelayMs }) as Redis;
        this.#probe.on('error', () => {});
      }
    }
    const sub = this.#sub;
    sub.on('ready', () => {
      if (this.#sub !== sub) return;
      logger.info(this.#wasReady ? 'redis subscriber reconnected' : 'redis subscriber connected');
      this.#ready = true;
      this.#wasReady = true;
      this.#attempts = 0;
      this.#resubscribe();
    });
    sub.on('error', (err: Error) => {
      // ioredis reports every failed retry; log once per outage.
      if (this.#sub === sub && this.#ready) logger.warn({ err: err.message }, 'redis subscriber lost its connection; retrying');
    });
  }

  /** Drops the current client(s) and connects new ones (a missed probe, or a cluster lost in full). */
  #replace(): void {
    if (this.#closed) return;
    clearTimeout(this.#replaceTimer);
    this.#options.counters[RedisSlot.RECONNECTS]++;
    this.#drop();
    this.#connect();
  }

  #drop(): void {
    this.#lost();
    this.#sub.disconnect();
    this.#probe?.disconnect();
    this.#probe = undefined;
  }

  #lost(): void {
    this.#ready = false;
    this.#failed.clear();
    this.#health?.disconnected();
  }

  #retain(channel: string): void {
    const count = this.#refs.get(channel) ?? 0;
    this.#refs.set(channel, count + 1);
    if (count === 0 && this.#ready) this.#subscribe([channel]);
  }

  #release(channel: string): void {
    const count = this.#refs.get(channel);
    if (count === undefined) return;
    if (count > 1) {
      this.#refs.set(channel, count - 1);
      return;
    }
    this.#refs.delete(channel);
    this.#failed.delete(channel);
    if (!this.#ready) return;
    if (this.#sharded) this.#sub.sunsubscribe(channel).catch(this.#ignore);
    else this.#sub.unsubscribe(channel).catch(this.#ignore);
  }

  /** A fresh connection: subscribe the whole wanted set. */
  #resubscribe(): void {
    this.#subscribe([this.#sessionChannel, ...this.#refs.keys()]);
  }

  #subscribe(channels: string[]): void {
    if (this.#sharded) {
      // One channel per SSUBSCRIBE: the channels of one command must share a slot.
      const sub = this.#sub;
      for (const channel of channels) {
        sub.ssubscribe(channel).catch(() => {
          if (this.#sub === sub && this.#ready && (channel === this.#sessionChannel || this.#refs.has(channel))) this.#failed.add(channel);
        });
      }
      return;
    }
    // In chunks, to keep each command small.
    for (let i = 0; i < channels.length; i += 1000) {
      this.#sub.subscribe(...channels.slice(i, i + 1000)).catch((err: Error) => {
        this.#options.logger.warn({ err: err.message }, 'redis subscribe failed; retrying on the next connection');
      });
    }
  }

  #retryFailed(): void {
    if (!this.#ready || this.#failed.size === 0) return;
    const channels = [...this.#failed];
    this.#failed.clear();
    this.#subscribe(channels);
  }

  #publishProbe(seq: number): Promise<number> {
    const probe = encodeProbe(seq, this.#options.nodeId);
    if (this.#sharded) return this.#sub.spublish(this.#sessionChannel, probe) as Promise<number>;
    return this.#probe!.publish(this.#sessionChannel, probe);
  }

  /** A command lost to a dropped connection: the next 'ready' resubscribes from #refs. */
  readonly #ignore = () => {};

  #onMessage(channel: string, message: Buffer): void {
    const { redis, nodeId } = this.#options;
    const envelope = decodeEnvelope(message);
    if (envelope === undefined) {
      const probe = channel === this.#sessionChannel ? decodeProbe(message) : undefined;
      if (probe !== undefined) return this.#health?.received(probe);
      return this.#options.onInvalid();
    }
    if (!channel.startsWith(redis.prefix)) return this.#options.onInvalid();
    const rest = channel.slice(redis.prefix.length);
    let item: PushItem | undefined;
    if (rest.startsWith('topic:')) {
      if (envelope.origin === nodeId) return;
      item = keyedItem(Target.TOPIC, rest.slice(6), envelope.msgId, envelope.serverId, envelope.payload);
    } else if (rest.startsWith('user:')) {
      if (envelope.origin === nodeId) return;
      item = keyedItem(Target.USER, rest.slice(5), envelope.msgId, envelope.serverId, envelope.payload);
    } else if (rest.startsWith('session:') && envelope.session !== undefined) {
      item = sessionItem(envelope.session, envelope.msgId, envelope.serverId, envelope.payload);
    }
    if (item === undefined) return this.#options.onInvalid();
    this.#options.onItem(item);
  }
}
