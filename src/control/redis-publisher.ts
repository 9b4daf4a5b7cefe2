/**
 * The supervisor's Redis publisher. Offline queueing is off: while Redis is unreachable a publish fails at once
 * (counted) instead of queueing without bound, and one that gets no answer within 2 s fails too. One connection (on a
 * cluster, one per master), so a publisher's messages to one channel keep their order.
 *
 * On a standalone server this is PUBLISH; on a Redis Cluster it is SPUBLISH, sent to the master owning the channel's
 * slot, which delivers it to that shard's subscribers only. A channel whose master is down fails its publishes (counted
 * as `redis_failed`) until the master is back or a replica took over; the other shards' channels are not affected.
 */
import type { Logger } from '../core/logger.ts';
import type { ResolvedRedis } from '../core/options.ts';
import { createRedisClient, type RedisClient } from './redis-client.ts';
import { redisRetryDelayMs } from './redis-reconnect.ts';

export class RedisPublisher {
  readonly #redis: RedisClient;
  readonly #sharded: boolean;
  #connected = false;

  constructor(redis: Pick<ResolvedRedis, 'url' | 'cluster'>, logger: Logger) {
    this.#sharded = redis.cluster !== null;
    this.#redis = createRedisClient(redis, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // A connected but unresponsive Redis must not hold push calls open: a publish fails after this.
      commandTimeout: 2000,
      retryStrategy: redisRetryDelayMs,
    });
    this.#redis.on('ready', () => {
      if (!this.#connected) logger.info('redis publisher connected');
      this.#connected = true;
    });
    this.#redis.on('error', (err: Error) => {
      if (this.#connected) logger.warn({ err: err.message }, 'redis publisher lost its connection; retrying');
      this.#connected = false;
    });
  }

  /** Resolves with the number of subscribers that received the message; rejects while Redis is unreachable. */
  publish(channel: string, message: Buffer): Promise<number> {
    return (this.#sharded ? this.#redis.spublish(channel, message) : this.#redis.publish(channel, message)) as Promise<number>;
  }

  close(): void {
    this.#redis.disconnect();
  }
}
