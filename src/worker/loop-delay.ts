/**
 * A worker's event-loop delay, for `actorgate_worker_event_loop_delay_seconds`: how late the loop ran a timer due
 * every RESOLUTION_MS (perf_hooks.monitorEventLoopDelay, a native timer: no JavaScript runs per sample). Each
 * session of the worker waits as long for anything it sent. Once a second (an unref'd timer) the monitor's samples are
 * added to fixed buckets in the worker's shared counters (counters.ts LoopDelaySlot, histogram-slots.ts layout) and the
 * monitor is reset, so a scrape reads plain slots and the histogram is exact to the monitor's own precision.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { LOOP_DELAY_BOUNDS_SECONDS, LoopDelaySlot } from '../core/counters.ts';
import { HistogramOffset } from '../core/histogram-slots.ts';

/** The monitor's timer period; a sample is its interval less this. Node's default: ~100 wake-ups a second when idle. */
export const RESOLUTION_MS = 10;
const SNAPSHOT_MS = 1000;
const RESOLUTION_NS = RESOLUTION_MS * 1e6;

export class LoopDelay {
  readonly #counters: Float64Array;
  readonly #monitor: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  #timer: NodeJS.Timeout | undefined;

  constructor(counters: Float64Array) {
    this.#counters = counters;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#monitor.enable();
    this.#timer = setInterval(() => this.snapshot(), SNAPSHOT_MS).unref();
  }

  /** Takes the last samples into the counters and stops the monitor. Idempotent. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.snapshot();
    this.#monitor.disable();
  }

  /** Adds the samples since the last snapshot to the buckets, then resets the monitor. */
  snapshot(): void {
    const monitor = this.#monitor;
    const n = monitor.count;
    if (n === 0) return;
    const counters = this.#counters;
    counters[LoopDelaySlot.BASE + HistogramOffset.SUM]! += Math.max(0, (monitor.mean - RESOLUTION_NS) * n) / 1e9;
    const buckets = LoopDelaySlot.BASE + HistogramOffset.BUCKETS;
    // The k-th smallest sample is percentile(100·k/n) (HdrHistogram rounds the rank to the nearest count), so the
    // samples at or below a bound are found by bisecting on k; bounds outside min–max need no search. A second at
    // 10 ms holds at most ~100 samples: a few dozen lookups of ~2 µs each. Each bucket takes the samples between its
    // bound and the one before.
    const min = monitor.min - RESOLUTION_NS;
    const max = monitor.max - RESOLUTION_NS;
    let low = 0;
    let counted = 0;
    for (let i = 0; i < LOOP_DELAY_BOUNDS_SECONDS.length; i++) {
      const bound = LOOP_DELAY_BOUNDS_SECONDS[i]! * 1e9;
      let atOrBelow: number;
      if (bound < min) atOrBelow = 0;
      else if (bound >= max) atOrBelow = n;
      else {
        // Invariant: the low-th sample is ≤ bound (0: none), the high-th is above it.
        let high = n;
        while (high - low > 1) {
          const mid = (low + high) >>> 1;
          if (monitor.percentile((100 * mid) / n) - RESOLUTION_NS <= bound) low = mid;
          else high = mid;
        }
        atOrBelow = low;
      }
      counters[buckets + i]! += atOrBelow - counted;
      counted = atOrBelow;
    }
    counters[buckets + LOOP_DELAY_BOUNDS_SECONDS.length]! += n - counted;
    monitor.reset();
  }
}
