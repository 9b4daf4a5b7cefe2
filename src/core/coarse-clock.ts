/**
 * A worker's coarse monotonic clock: `now` (performance.now() milliseconds) is advanced by one unref'd timer every
 * `resolutionMs`, so the hot path (a session's last-seen stamp, a mailbox entry's enqueue time) reads a field
 * instead of calling a clock per message. A reading is never ahead of real time; it is behind by at most the
 * longest gap between two updates so far (`maxGapMs`: the period, or longer when a busy loop ran the timer late), so
 * a reader that must never act early on a stamp allows that much.
 */
export class CoarseClock {
  now = performance.now();
  readonly resolutionMs: number;
  /** The longest time between two updates of `now` so far: how far behind a stamp may be. */
  maxGapMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(resolutionMs: number) {
    this.resolutionMs = resolutionMs;
    this.maxGapMs = resolutionMs;
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      const now = performance.now();
      if (now - this.now > this.maxGapMs) this.maxGapMs = now - this.now;
      this.now = now;
    }, this.resolutionMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
