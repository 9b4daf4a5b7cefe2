/**
 * The one backoff policy of the gateway: exponential growth, capped. Its users:
 *
 * - a stream actor reopening a stream (backend/stream-actor.ts) draws `backoffDelayMs`: full jitter (uniform in
 *   0 … ceiling), so the workers of every gateway instance that lost the same backend do not reconnect in lockstep.
 *   It paces the stream actor only; TCP connects inside grpc-js follow grpc-js's own subchannel backoff
 *   (grpc-channel.ts explains which part of the configuration reaches it);
 * - the supervisor restarting a failed worker waits `backoffCeilingMs`, no jitter: a restart contends for nothing
 *   shared with other instances, and the fixed sequence is what the configuration promises (restart.initialMs,
 *   doubling per quick failure, up to restart.maxMs);
 * - ioredis reconnecting to Redis waits `backoffCeilingMs` of control/redis-reconnect.ts's policy: one connection
 *   per worker, which Redis accepts in bursts far larger than a gateway's workers.
 * - a JWKS cache that holds no key fetches again after `backoffCeilingMs` (auth/jwks-cache.ts), no jitter, as its
 *   periodic refresh has none.
 */

export interface BackoffPolicy {
  /** Ceiling of the first delay. */
  initialMs: number;
  /** The ceiling never grows past this. */
  maxMs: number;
  /** Each attempt multiplies the ceiling by this (≥ 1). */
  multiplier: number;
}

/** The largest delay attempt `attempt` (0 for the first retry) may draw: min(maxMs, initialMs × multiplier^attempt). */
export function backoffCeilingMs(attempt: number, policy: BackoffPolicy): number {
  // multiplier ** attempt overflows to Infinity long before attempt does; min() keeps that at maxMs.
  return Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** attempt);
}

/** The delay before retry `attempt`: uniform in [0, ceiling) given `random` uniform in [0, 1) (full jitter). */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  return random() * backoffCeilingMs(attempt, policy);
}
