import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HistogramOffset, histogramSlots, observe, readHistogram } from '../../../src/core/histogram-slots.ts';
import { STAGE_BOUNDS_SECONDS } from '../../../src/core/counters.ts';

const BOUNDS = [0.001, 0.01, 0.1] as const;
const BASE = 3;

function histogram(...samples: number[]): { count: number; sum: number; buckets: number[] } {
  const slots = new Float64Array(BASE + histogramSlots(BOUNDS) + 2);
  for (const s of samples) observe(slots, BASE, BOUNDS, s);
  assert.deepEqual([...slots.subarray(0, BASE)], [0, 0, 0], 'slots before the histogram untouched');
  assert.deepEqual([...slots.subarray(BASE + histogramSlots(BOUNDS))], [0, 0], 'slots after it untouched');
  const { count, sum, cumulative } = readHistogram(slots, BASE, BOUNDS);
  return { count, sum, buckets: [...cumulative] };
}

describe('histogram slots', () => {
  it('buckets are cumulative, a bound counts samples equal to it, a sample past the last is only in +Inf', () => {
    const h = histogram(0, 0.001, 0.0011, 0.05, 0.1, 0.2, 7);
    assert.deepEqual(h.buckets, [2, 3, 5]);
    assert.equal(h.count, 7, '+Inf holds every sample');
    assert.ok(Math.abs(h.sum - 7.3521) < 1e-12, `sum ${h.sum}`);
  });

  it('a sample is one increment of its own bucket, so a reader between two writes still sees cumulative buckets', () => {
    const slots = new Float64Array(histogramSlots(BOUNDS));
    observe(slots, 0, BOUNDS, 0.005);
    const changed = [...slots].flatMap((v, i) => (v !== 0 && i !== HistogramOffset.SUM ? [i] : []));
    assert.deepEqual(changed, [HistogramOffset.BUCKETS + 1], 'the 10 ms bucket alone');
    // Whatever a concurrent writer has done so far, the cumulated reading is monotone and ends at the count.
    slots.set([0, 4, 0, 9, 2], 0);
    const { count, cumulative } = readHistogram(slots, 0, BOUNDS);
    assert.deepEqual([...cumulative], [4, 4, 13]);
    assert.equal(count, 15);
  });

  it('no samples: all zero', () => {
    assert.deepEqual(histogram(), { count: 0, sum: 0, buckets: [0, 0, 0] });
  });

  it('the stage bounds run from 25 µs to 1 s, ascending', () => {
    assert.equal(STAGE_BOUNDS_SECONDS[0], 0.000025);
    assert.equal(STAGE_BOUNDS_SECONDS.at(-1), 1);
    const bounds = STAGE_BOUNDS_SECONDS;
    for (let i = 1; i < bounds.length; i++) assert.ok(bounds[i]! > bounds[i - 1]!);
  });
});
