/**
 * The gateway's own entry in the registry (registry-entry.ts; docs/PROTOCOL.md, "Gateway registry"), on the supervisor thread: written
 * at start (`starting`), rewritten with a fresh TTL every third of `registry.ttlMs` (the session count with it), at
 * each state change (`running`, `draining`), and deleted at close. Joins, state changes and leaves are announced on
 * `<prefix>instances`. An instance that dies without closing disappears when its TTL runs out.
 *
 * Its own connection, offline queue off: while Redis is unreachable a refresh fails (logged once) rather than
 * queueing; on reconnect the entry is written again at once and announced as a join, since it may have expired.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../core/logger.ts';
import type { ResolvedRedis } from '../core/options.ts';
import { createRedisClient, type RedisClient } from './redis-client.ts';
import { redisRetryDelayMs } from './redis-reconnect.ts';
import { instanceKey, instancesChannel, type InstanceEntry, type InstanceEvent, type InstanceState } from './registry-entry.ts';

/** What the registry writes, besides what it reads live. */
export interface RegistrationInfo {
  name: string;
  nodeId: number;
  clientUrls: readonly string[];
  pushAddress: string | null;
  pushTls: boolean;
  workers: number;
  /** Read at every write. */
  sessions(): number;
}

export interface RegistryOptions {
  /** The configured Redis (a standalone server or a cluster). */
  redis: Pick<ResolvedRedis, 'url' | 'cluster' | 'prefix'>;
  ttlMs: number;
}

export class InstanceRegistry {
  readonly #redis: RedisClient;
  readonly #info: RegistrationInfo;
  readonly #key: string;
  readonly #channel: string;
  readonly #ttlMs: number;
  readonly #logger: Logger;
  readonly #id = randomBytes(8).toString('hex');
  readonly #startedAt = Date.now();
  readonly #timer: NodeJS.Timeout;
  #state: InstanceState = 'starting';
  #closed = false;
  #healthy = true;
  /** Set on a reconnect: the next write announces a join (the entry may have expired meanwhile). */
  #rejoin = false;
  /** The first connection attempt is over: a later 'ready' is a reconnect. */
  #started = false;

  constructor(options: RegistryOptions, info: RegistrationInfo, logger: Logger) {
    this.#info = info;
    this.#key = instanceKey(options.redis.prefix, info.nodeId);
    this.#channel = instancesChannel(options.redis.prefix);
    this.#ttlMs = options.ttlMs;
    this.#logger = logger;
    this.#redis = createRedisClient(options.redis, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2000, retryStrategy: redisRetryDelayMs, lazyConnect: true });
    this.#redis.on('ready', () => {
      if (!this.#started) return;
      this.#rejoin = true;
      void this.#write();
    });
    this.#redis.on('error', () => {});
    this.#timer = setInterval(() => void this.#write(), Math.max(1000, Math.floor(this.#ttlMs / 3))).unref();
  }

  get state(): InstanceState {
    return this.#state;
  }

  /** The last write of the entry succeeded (false while Redis does not answer). */
  get healthy(): boolean {
    return this.#healthy;
  }

  /**
   * Connects, writes the entry (`starting`) and announces the join. Never rejects: while Redis cannot be reached the
   * entry is written, and the join announced, once it answers.
   */
  async start(): Promise<void> {
    try {
      await this.#redis.connect();
      await this.#write('join');
    } catch (err) {
      this.#rejoin = true;
      this.#logger.warn({ err: (err as Error).message }, 'registry: Redis unreachable; this instance registers once it answers');
      this.#healthy = false;
    } finally {
      this.#started = true;
    }
  }

  /** Moves to `running` or `draining`, rewrites the entry and announces it. */
  async setState(state: InstanceState): Promise<void> {
    if (this.#closed || this.#state === state) return;
    this.#state = state;
    await this.#write('state');
  }

  /** The entry as it is written now. */
  entry(): InstanceEntry {
    const info = this.#info;
    return {
      v: 1,
      id: this.#id,
      name: info.name,
      nodeId: info.nodeId,
      clientUrls: [...info.clientUrls],
      pushAddress: info.pushAddress,
      pushTls: info.pushTls,
      workers: info.workers,
      sessions: info.sessions(),
      state: this.#state,
      startedAt: this.#startedAt,
      updatedAt: Date.now(),
    };
  }

  /** Deletes the entry (only if it is still this process's) and announces the leave. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    const entry = this.entry();
    try {
      // Only our own entry: a successor with the same node id may have written its own since.
      await this.#redis.eval("local v = redis.call('get', KEYS[1]) if v and string.find(v, ARGV[1], 1, true) then return redis.call('del', KEYS[1]) end return 0", 1, this.#key, `"id":"${this.#id}"`);
      await this.#redis.publish(this.#channel, JSON.stringify({ event: 'leave', instance: entry }));
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'registry: could not delete this instance\'s entry; it expires with its TTL');
    }
    this.#redis.disconnect();
  }

  async #write(event?: InstanceEvent): Promise<void> {
    if (this.#closed) return;
    if (this.#rejoin) {
      this.#rejoin = false;
      event = 'join';
    }
    const entry = JSON.stringify(this.entry());
    try {
      await this.#redis.set(this.#key, entry, 'PX', this.#ttlMs);
      // A close that began meanwhile has announced the leave: a join or state after it would mislead watchers.
      if (event !== undefined && !this.#closed) await this.#redis.publish(this.#channel, `{"event":"${event}","instance":${entry}}`);
      if (!this.#healthy) this.#logger.info('registry: entry refreshed again');
      this.#healthy = true;
    } catch (err) {
      if (event !== undefined) this.#rejoin = true;
      if (this.#healthy) this.#logger.warn({ err: (err as Error).message }, 'registry: could not refresh this instance\'s entry; retrying');
      this.#healthy = false;
    }
  }
}
