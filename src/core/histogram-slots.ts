/**
 * A Prometheus histogram kept in consecutive shared-counter slots (counters.ts), so that a worker records with plain
 * increments and the supervisor reads it at scrape time (admin/histogram-metric.ts): COUNT (every sample: the +Inf
 * bucket), SUM (seconds), then one cumulative bucket per bound. The event-loop delay and the stage histograms share
 * this layout.
 */

export const HistogramOffset = {
  /** samples so far (the +Inf bucket) */
  COUNT: 0,
  /** the samples' sum, seconds */
  SUM: 1,
  /** samples at or below each bound, cumulative, by bound offset */
  BUCKETS: 2,
} as const;

/** Slots a histogram with `bounds` takes. */
export function histogramSlots(bounds: readonly number[]): number {
  return HistogramOffset.BUCKETS + bounds.length;
}

/**
 * Adds one sample of `seconds` to the histogram at `base`. Buckets are cumulative, so every bound at or above the
 * sample counts it: walking down from the largest stops at the first bound below it.
 */
export function observe(slots: Float64Array, base: number, bounds: readonly number[], seconds: number): void {
  slots[base + HistogramOffset.COUNT]!++;
  slots[base + HistogramOffset.SUM]! += seconds;
  const buckets = base + HistogramOffset.BUCKETS;
  for (let i = bounds.length - 1; i >= 0 && seconds <= bounds[i]!; i--) slots[buckets + i]!++;
}
