/**
 * A worker's Redis subscriber. Subscriptions follow demand: a topic or user channel is subscribed while at least one
 * local session needs it (reference counted), so Redis sends each worker only what it can deliver. The worker's own
 * session channel is always subscribed. Messages published by this gateway itself (origin = our node id) are skipped
 * on topic and user channels: the gateway delivered those locally already.
 *
 * Nothing queues while Redis is unreachable: the wanted channel set lives in `#refs` (plus the session channel), and
 * every time the connection becomes ready it is subscribed in full; in between, only `#refs` changes. So clients
 * toggling subscriptions during an outage cannot grow a command queue.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import { redisRetryDelayMs } from './redis-reconnect.ts';
import { keyedItem, sessionItem, Target, type PushItem } from '../push/push-item.ts';
import { decodeEnvelope, sessionChannel, topicChannel, userChannel } from './redis-channels.ts';

export interface RedisFanoutOptions {
  url: string;
  prefix: string;
  nodeId: number;
  worker: number;
  logger: Logger;
  /** A decoded message for local delivery. */
  onItem: (item: PushItem) => void;
  /** A message that was not a valid envelope (counted). */
  onInvalid: () => void;
}

export class RedisFanout {
  readonly #redis: Redis;
  readonly #options: RedisFanoutOptions;
  readonly #refs = new Map<string, number>();
  readonly #sessionChannel: string;
  #ready = false;
  #wasReady = false;

  constructor(options: RedisFanoutOptions) {
    this.#options = options;
    this.#sessionChannel = sessionChannel(options.prefix, options.nodeId, options.worker);
    this.#redis = new Redis(options.url, {
      enableOfflineQueue: false,
      autoResubscribe: false,
      maxRetriesPerRequest: null,
      retryStrategy: redisRetryDelayMs,
    });
    this.#redis.on('ready', () => {
      options.logger.info(this.#wasReady ? 'redis subscriber reconnected' : 'redis subscriber connected');
      this.#ready = true;
      this.#wasReady = true;
      this.#resubscribe();
    });
    this.#redis.on('close', () => {
      this.#ready = false;
    });
    this.#redis.on('error', (err: Error) => {
      // ioredis reports every failed retry; log once per outage.
      if (this.#ready) options.logger.warn({ err: err.message }, 'redis subscriber lost its connection; retrying');
      this.#ready = false;
    });
    this.#redis.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#onMessage(channel.toString(), message));
  }

  retainTopic(topic: string): void {
    this.#retain(topicChannel(this.#options.prefix, topic));
  }

  releaseTopic(topic: string): void {
    this.#release(topicChannel(this.#options.prefix, topic));
  }

  retainUser(userId: string): void {
    this.#retain(userChannel(this.#options.prefix, userId));
  }

  releaseUser(userId: string): void {
    this.#release(userChannel(this.#options.prefix, userId));
  }

  close(): void {
    this.#redis.disconnect();
  }

  #retain(channel: string): void {
    const count = this.#refs.get(channel) ?? 0;
    this.#refs.set(channel, count + 1);
    if (count === 0 && this.#ready) this.#redis.subscribe(channel).catch(this.#ignore);
  }

  #release(channel: string): void {
    const count = this.#refs.get(channel);
    if (count === undefined) return;
    if (count > 1) {
      this.#refs.set(channel, count - 1);
      return;
    }
    this.#refs.delete(channel);
    if (this.#ready) this.#redis.unsubscribe(channel).catch(this.#ignore);
  }

  /** A fresh connection: subscribe the whole wanted set (in chunks, to keep each command small). */
  #resubscribe(): void {
    const channels = [this.#sessionChannel, ...this.#refs.keys()];
    for (let i = 0; i < channels.length; i += 1000) {
      this.#redis.subscribe(...channels.slice(i, i + 1000)).catch((err: Error) => {
        this.#options.logger.warn({ err: err.message }, 'redis subscribe failed; retrying on the next connection');
      });
    }
  }

  /** A command lost to a dropped connection: the next 'ready' resubscribes from #refs. */
  readonly #ignore = () => {};

  #onMessage(channel: string, message: Buffer): void {
    const { prefix, nodeId } = this.#options;
    const envelope = decodeEnvelope(message);
    if (envelope === undefined || !channel.startsWith(prefix)) return this.#options.onInvalid();
    const rest = channel.slice(prefix.length);
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
