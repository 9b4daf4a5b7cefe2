/**
 * A worker's coarse monotonic clock: `now` (performance.now() milliseconds) is advanced by one unref'd timer every
 * `resolutionMs`, so the hot path (a session's last-seen stamp, a mailbox entry's enqueue time) reads a field
 * instead of calling a clock per message. A reading is at most `resolutionMs` behind real time, never ahead.
 */
export class CoarseClock {
  now = performance.now();
  readonly resolutionMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(resolutionMs: number) {
    this.resolutionMs = resolutionMs;
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      this.now = performance.now();
    }, this.resolutionMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
