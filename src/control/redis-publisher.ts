/**
 * The supervisor's Redis publisher. Offline queueing is off: while Redis is unreachable a publish fails at once
 * (counted) instead of queueing without bound, and one that gets no answer within 2 s fails too. One connection, so a
 * publisher's messages keep their order.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import { redisRetryDelayMs } from './redis-reconnect.ts';

export class RedisPublisher {
  readonly #redis: Redis;
  #connected = false;

  constructor(url: string, logger: Logger) {
    this.#redis = new Redis(url, {
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
    return this.#redis.publish(channel, message);
  }

  close(): void {
    this.#redis.disconnect();
  }
}
