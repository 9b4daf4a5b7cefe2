/**
 * Per-session message rate limits (docs/PROTOCOL.md §7): two token buckets, messages and bytes, checked before
 * anything else is done with a message, so a refusal costs a few comparisons and one reused ERROR frame. A session
 * that keeps being refused ends: "keeps" is a streak of refusals with no refusal-free second in it, and a streak that
 * lasts `limits.rateLimitCloseAfterMs` closes the session with RATE_LIMIT_EXCEEDED, instead of the gateway serving an
 * abuser refusals forever. Everything is read from the worker's coarse clock; nothing is allocated per message.
 */
import type { LimitsOptions } from '../core/options.ts';
import { TokenBucket } from '../core/token-bucket.ts';

/** What to do with one message: take it, refuse it, close the session, or (closing already) drop it unanswered. */
export const RateVerdict = { PASS: 0, REFUSE: 1, CLOSE: 2, DROP: 3 } as const;
export type RateVerdict = (typeof RateVerdict)[keyof typeof RateVerdict];

/** A refusal this long after the previous one starts a new streak. */
export const STREAK_GAP_MS = 1000;

/** The worker's limits, read once; `undefined` from `ratePolicy` when both rates are off. */
export interface RatePolicy {
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  readonly bytesPerSecond: number;
  readonly byteBurst: number;
  readonly closeAfterMs: number;
}

export function ratePolicy(limits: Readonly<LimitsOptions>): RatePolicy | undefined {
  if (limits.messagesPerSecond === 0 && limits.bytesPerSecond === 0) return undefined;
  return Object.freeze({
    messagesPerSecond: limits.messagesPerSecond,
    messageBurst: limits.messageBurst,
    bytesPerSecond: limits.bytesPerSecond,
    byteBurst: limits.byteBurst,
    closeAfterMs: limits.rateLimitCloseAfterMs,
  });
}

/** One session's buckets and refusal streak. */
export class MessageRate {
  readonly #messages: TokenBucket | undefined;
  readonly #bytes: TokenBucket | undefined;
  #streakStart = 0;
  #lastRefusal = Number.NEGATIVE_INFINITY;
  #closing = false;

  constructor(policy: RatePolicy, now: number) {
    if (policy.messagesPerSecond > 0) this.#messages = new TokenBucket(policy.messageBurst, now);
    if (policy.bytesPerSecond > 0) this.#bytes = new TokenBucket(policy.byteBurst, now);
  }

  /** Takes one message of `bytes` (the whole WebSocket message) at coarse time `now`. */
  check(bytes: number, now: number, policy: RatePolicy): RateVerdict {
    if (this.#closing) return RateVerdict.DROP;
    // A message refused by one bucket takes nothing from the other.
    const messages = this.#messages;
    const passes =
      (messages === undefined || messages.take(1, now, policy.messagesPerSecond, policy.messageBurst)) &&
      (this.#bytes === undefined || this.#takeBytes(bytes, now, policy));
    if (passes) return RateVerdict.PASS;
    if (now - this.#lastRefusal >= STREAK_GAP_MS) this.#streakStart = now;
    this.#lastRefusal = now;
    if (now - this.#streakStart < policy.closeAfterMs) return RateVerdict.REFUSE;
    this.#closing = true;
    return RateVerdict.CLOSE;
  }

  #takeBytes(bytes: number, now: number, policy: RatePolicy): boolean {
    if (this.#bytes!.take(bytes, now, policy.bytesPerSecond, policy.byteBurst)) return true;
    // Give back the message token: this message was not taken.
    if (this.#messages !== undefined) this.#messages.tokens += 1;
    return false;
  }
}
