/**
 * A Prometheus histogram kept in consecutive shared-counter slots (counters.ts), so that a worker records with plain
 * increments and the supervisor reads it at scrape time (admin/histogram-metric.ts): SUM (seconds), then one slot per
 * bucket holding only the samples of that bucket (above the previous bound, at or below its own), then the samples
 * past the last bound. The reader adds them up: a scrape that lands while a worker is writing still sees cumulative
 * buckets and a count equal to +Inf, which cumulative slots written one by one could not promise. The event-loop delay
 * and the stage histograms share this layout.
 */

export const HistogramOffset = {
  /** the samples' sum, seconds */
  SUM: 0,
  /** samples of each bucket alone, by bound offset; the slot after the last bound holds the samples past it */
  BUCKETS: 1,
} as const;

/** Slots a histogram with `bounds` takes. */
export function histogramSlots(bounds: readonly number[]): number {
  return HistogramOffset.BUCKETS + bounds.length + 1;
}

/** The bucket of `seconds`: the first bound at or above it, or bounds.length when it is past them all. */
export function bucketOf(bounds: readonly number[], seconds: number): number {
  let i = 0;
  while (i < bounds.length && seconds > bounds[i]!) i++;
  return i;
}

/** Adds one sample of `seconds` to the histogram at `base`: one increment of its bucket and one of the sum. */
export function observe(slots: Float64Array, base: number, bounds: readonly number[], seconds: number): void {
  slots[base + HistogramOffset.SUM]! += seconds;
  slots[base + HistogramOffset.BUCKETS + bucketOf(bounds, seconds)]!++;
}

/** A histogram as Prometheus shows it: cumulative buckets, one per bound, and the count (the +Inf bucket). */
export interface HistogramReading {
  count: number;
  sum: number;
  cumulative: Float64Array;
}

/** Reads the histogram at `base`, adding the buckets up in order. */
export function readHistogram(slots: Float64Array, base: number, bounds: readonly number[]): HistogramReading {
  const cumulative = new Float64Array(bounds.length);
  const buckets = base + HistogramOffset.BUCKETS;
  let total = 0;
  for (let i = 0; i < bounds.length; i++) cumulative[i] = total += slots[buckets + i]!;
  total += slots[buckets + bounds.length]!;
  return { count: total, sum: slots[base + HistogramOffset.SUM]!, cumulative };
}

/** The p-quantile of a cumulative histogram, linearly within its bucket (as PromQL's histogram_quantile). */
export function histogramQuantile(
  q: number,
  bounds: ArrayLike<number>,
  cumulative: ArrayLike<number>,
  count: number,
): number {
  const rank = q * count;
  for (let i = 0; i < bounds.length; i++) {
    if (cumulative[i]! >= rank) {
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const below = i === 0 ? 0 : cumulative[i - 1]!;
      const inBucket = cumulative[i]! - below;
      return inBucket === 0 ? bounds[i]! : lower + ((bounds[i]! - lower) * (rank - below)) / inBucket;
    }
  }
  // Past the last bound only +Inf holds the samples: the last bound is all that can be said.
  return bounds[bounds.length - 1]!;
}
