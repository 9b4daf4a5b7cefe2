/**
 * Per-session message rate limits (docs/PROTOCOL.md §7): two token buckets, messages and bytes, checked before
 * anything else is done with a message, so a refusal costs a few comparisons and one reused ERROR frame. A session
 * that keeps being refused ends: "keeps" is a streak of refusals with no refusal-free second in it, and a streak that
 * lasts `limits.rateLimitCloseAfterMs` closes the session with RATE_LIMIT_EXCEEDED, instead of the gateway serving an
 * abuser refusals forever. Everything is read from the worker's coarse clock; nothing is allocated per message.
 *
 * The same streak counts the refusals of the session's user's buckets and of its per-route buckets (session-rates.ts
 * asks them), so whichever limit a session keeps hitting, it is closed after the same time.
 */
import type { LimitsOptions } from '../core/options.ts';
import { TokenBucket } from '../core/token-bucket.ts';
import type { UserCells } from '../core/user-rate.ts';

/** What to do with one message: take it, refuse it, close the session, or (closing already) drop it unanswered. */
export const RateVerdict = { PASS: 0, REFUSE: 1, CLOSE: 2, DROP: 3 } as const;
export type RateVerdict = (typeof RateVerdict)[keyof typeof RateVerdict];

/** A refusal this long after the previous one starts a new streak. */
export const STREAK_GAP_MS = 1000;

/** Two buckets' rates and sizes; a rate of 0 has no bucket. */
export interface BucketSpec {
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  readonly bytesPerSecond: number;
  readonly byteBurst: number;
}

/** The worker's session limits, read once; `undefined` from `ratePolicy` when both rates are off. */
export interface RatePolicy extends BucketSpec {
  readonly closeAfterMs: number;
}

/** @param always a policy even with both session rates off (0): another limit (user, route) needs the streak */
export function ratePolicy(limits: Readonly<LimitsOptions>, always = false): RatePolicy | undefined {
  if (limits.messagesPerSecond === 0 && limits.bytesPerSecond === 0 && !always) return undefined;
  return Object.freeze({
    messagesPerSecond: limits.messagesPerSecond,
    messageBurst: limits.messageBurst,
    bytesPerSecond: limits.bytesPerSecond,
    byteBurst: limits.byteBurst,
    closeAfterMs: limits.rateLimitCloseAfterMs,
  });
}

/** A message bucket and a byte bucket, either absent where its rate is 0. */
export class RateBuckets {
  readonly #messages: TokenBucket | undefined;
  readonly #bytes: TokenBucket | undefined;

  constructor(spec: BucketSpec, now: number) {
    if (spec.messagesPerSecond > 0) this.#messages = new TokenBucket(spec.messageBurst, now);
    if (spec.bytesPerSecond > 0) this.#bytes = new TokenBucket(spec.byteBurst, now);
  }

  /** Takes one message of `bytes`; a message refused by one bucket takes nothing from the other. */
  take(bytes: number, now: number, spec: BucketSpec): boolean {
    const messages = this.#messages;
    if (messages !== undefined && !messages.take(1, now, spec.messagesPerSecond, spec.messageBurst)) return false;
    if (this.#bytes === undefined || this.#bytes.take(bytes, now, spec.bytesPerSecond, spec.byteBurst)) return true;
    // Give back the message token: this message was not taken.
    if (messages !== undefined) messages.tokens += 1;
    return false;
  }
}

/** One session's buckets (its own, and per route rule with a `rateLimit`) and refusal streak. */
export class MessageRate {
  readonly #own: RateBuckets;
  /** By route index, made at the session's first message under each rate-limited rule. */
  #routes: (RateBuckets | undefined)[] | undefined;
  /** With per-user rates: the user whose cells were last found (session-rates.ts), reused on a user change. */
  user: UserCells | undefined = undefined;
  #streakStart = 0;
  #lastRefusal = Number.NEGATIVE_INFINITY;
  #closing = false;

  constructor(policy: RatePolicy, now: number) {
    this.#own = new RateBuckets(policy, now);
  }

  /** Takes one message of `bytes` (the whole WebSocket message) at coarse time `now`. */
  check(bytes: number, now: number, policy: RatePolicy): RateVerdict {
    if (this.#closing) return RateVerdict.DROP;
    return this.#own.take(bytes, now, policy) ? RateVerdict.PASS : this.refused(now, policy);
  }

  /** Takes one message from the session's buckets for route `index` (rates `spec`). */
  checkRoute(index: number, spec: BucketSpec, bytes: number, now: number, policy: RatePolicy): RateVerdict {
    const routes = (this.#routes ??= []);
    const buckets = (routes[index] ??= new RateBuckets(spec, now));
    return buckets.take(bytes, now, spec) ? RateVerdict.PASS : this.refused(now, policy);
  }

  /** A refusal by any of the session's limits at `now`: REFUSE, or CLOSE once the streak has lasted `closeAfterMs`. */
  refused(now: number, policy: RatePolicy): RateVerdict {
    if (now - this.#lastRefusal >= STREAK_GAP_MS) this.#streakStart = now;
    this.#lastRefusal = now;
    if (now - this.#streakStart < policy.closeAfterMs) return RateVerdict.REFUSE;
    this.#closing = true;
    return RateVerdict.CLOSE;
  }
}
