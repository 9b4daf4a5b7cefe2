/**
 * A log-linear histogram of non-negative integers (microseconds here), in the manner of HdrHistogram: values below
 * 128 are exact; above, each power of two is split into 64 equal buckets, so a reported value is within 1/64 (1.6%)
 * of what was recorded. Fixed size (1,664 buckets up to 2^31), mergeable, and cheap to record: no allocation, no log.
 */
const SUB_BITS = 7;
const DIRECT = 1 << SUB_BITS; // 128 exact buckets
const HALF = DIRECT >>> 1; // 64 buckets per power of two above them
const MAX_VALUE = 0x7fffffff;
const BUCKETS = DIRECT + (31 - SUB_BITS) * HALF;

function indexOf(value: number): number {
  if (value < DIRECT) return value;
  const exponent = 31 - Math.clz32(value); // ≥ SUB_BITS
  return DIRECT + (exponent - SUB_BITS) * HALF + ((value >>> (exponent - SUB_BITS + 1)) - HALF);
}

/** The largest value that falls in bucket `index` (what HdrHistogram calls the highest equivalent value). */
function highestOf(index: number): number {
  if (index < DIRECT) return index;
  const exponent = ((index - DIRECT) / HALF | 0) + SUB_BITS;
  const sub = (index - DIRECT) % HALF + HALF;
  const shift = exponent - SUB_BITS + 1;
  return (sub + 1) * 2 ** shift - 1;
}

/** What crosses a process boundary: only the non-empty buckets. */
export interface HistogramJSON {
  buckets: [index: number, count: number][];
  count: number;
  min: number;
  max: number;
  sum: number;
}

export interface Percentiles {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export class LogHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  count = 0;
  min = Infinity;
  max = 0;
  sum = 0;

  /** Records a value; negatives count as 0, values past 2^31 − 1 as 2^31 − 1. */
  record(value: number): void {
    const v = value <= 0 ? 0 : value >= MAX_VALUE ? MAX_VALUE : Math.round(value);
    this.#counts[indexOf(v)]!++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  merge(other: LogHistogram | HistogramJSON): this {
    const json = other instanceof LogHistogram ? other.toJSON() : other;
    for (const [index, count] of json.buckets) this.#counts[index]! += count;
    this.count += json.count;
    this.sum += json.sum;
    if (json.count > 0) {
      this.min = Math.min(this.min, json.min);
      this.max = Math.max(this.max, json.max);
    }
    return this;
  }

  /** The smallest recorded value (to bucket precision) that `q` (0–1) of the values are at or below; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(highestOf(i), this.max);
    }
    return this.max;
  }

  percentiles(): Percentiles {
    return {
      count: this.count,
      min: this.count === 0 ? Number.NaN : this.min,
      mean: this.count === 0 ? Number.NaN : this.sum / this.count,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
      max: this.count === 0 ? Number.NaN : this.max,
    };
  }

  toJSON(): HistogramJSON {
    const buckets: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.#counts[i]! > 0) buckets.push([i, this.#counts[i]!]);
    return { buckets, count: this.count, min: this.min, max: this.max, sum: this.sum };
  }

  static from(json: HistogramJSON): LogHistogram {
    return new LogHistogram().merge(json);
  }
}
