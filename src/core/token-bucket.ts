/**
 * A token bucket for one session's hot path: plain number fields, refilled from the reading of the worker's coarse
 * clock the caller passes in (no clock read and no allocation per message). Between two ticks of that clock the
 * refill is zero, so a bucket must hold at least one tick's worth of tokens to reach its rate (options.ts checks it).
 */
export class TokenBucket {
  tokens: number;
  #last: number;

  constructor(burst: number, now: number) {
    this.tokens = burst;
    this.#last = now;
  }

  /** Refills for the time since the last call, then takes `cost` tokens if the bucket holds them. */
  take(cost: number, now: number, perSecond: number, burst: number): boolean {
    if (now > this.#last) {
      const tokens = this.tokens + ((now - this.#last) * perSecond) / 1000;
      this.tokens = tokens > burst ? burst : tokens;
      this.#last = now;
    }
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
}
