/**
 * Which messages (or connections) `tracing.sampleRatio` picks, at the cost of one decrement and one comparison per
 * message. Rather than a random draw per message, the gap to the next sampled one is drawn from the geometric
 * distribution when the previous one is taken: the same independent 1-in-(1/ratio) choice, one Math.random() per
 * sampled message. Not cryptographic, and need not be: nothing an attacker gains from predicting it.
 */
export class TraceSampler {
  readonly #logOneMinus: number;
  readonly #ratio: number;
  readonly #random: () => number;
  #countdown: number;

  /** `ratio` in [0, 1]; `random` in [0, 1) (a seam for tests). */
  constructor(ratio: number, random: () => number = Math.random) {
    this.#ratio = ratio;
    this.#random = random;
    this.#logOneMinus = Math.log1p(-ratio);
    this.#countdown = this.#gap();
  }

  /** Whether the next message is sampled. */
  sample(): boolean {
    if (--this.#countdown > 0) return false;
    this.#countdown = this.#gap();
    return this.#ratio > 0;
  }

  /** Messages until the next sampled one, itself included: 1 + a geometric variate; Infinity at ratio 0. */
  #gap(): number {
    if (this.#ratio >= 1) return 1;
    if (this.#ratio <= 0) return Infinity;
    return 1 + Math.floor(Math.log1p(-this.#random()) / this.#logOneMinus);
  }
}
