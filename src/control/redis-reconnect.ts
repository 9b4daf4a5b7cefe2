/**
 * How the gateway's Redis connections (the supervisor's publisher, each worker's subscriber and, with
 * `limits.maxConnectionsPerUser`, its user-count connection) pace reconnects: one policy for all, so an outage looks
 * the same from every connection.
 */
import { backoffCeilingMs, type BackoffPolicy } from '../core/backoff.ts';

/** 50 ms, doubling, at most 5 s between attempts: a restarted Redis is found within 5 s, a dead one costs little. */
export const REDIS_RECONNECT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({ initialMs: 50, maxMs: 5000, multiplier: 2 });

/** ioredis `retryStrategy`: the delay before reconnect attempt `times` (ioredis counts from 1). */
export function redisRetryDelayMs(times: number): number {
  return backoffCeilingMs(times - 1, REDIS_RECONNECT_BACKOFF);
}
