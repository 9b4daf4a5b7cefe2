/**
 * Reconnect backoff for a stream actor: exponential growth with full jitter (the delay is uniform in 0 … ceiling),
 * so the workers of every gateway instance that lost the same backend do not reconnect in lockstep.
 *
 * This paces the stream actor only: when it reopens a stream and how often it re-checks a channel that cannot
 * connect. TCP connects inside grpc-js follow grpc-js's own subchannel backoff (grpc-channel.ts explains which part
 * of the configuration reaches it).
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
