import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOOP_DELAY_BOUNDS_SECONDS, LoopDelaySlot, WORKER_SLOTS } from '../../../src/core/counters.ts';
import { LoopDelay } from '../../../src/worker/loop-delay.ts';
import { readHistogram } from '../../../src/core/histogram-slots.ts';

const read = (counters: Float64Array) => readHistogram(counters, LoopDelaySlot.BASE, LOOP_DELAY_BOUNDS_SECONDS);
const bucket = (counters: Float64Array, le: number) => read(counters).cumulative[LOOP_DELAY_BOUNDS_SECONDS.indexOf(le as never)]!;

describe('the worker event-loop delay histogram', () => {
  it('a blocked loop shows as a late sample in the buckets; buckets are cumulative and the sum is in seconds', async () => {
    const counters = new Float64Array(WORKER_SLOTS);
    const delay = new LoopDelay(counters);
    delay.start();
    await sleep(60);
    const until = performance.now() + 80;
    while (performance.now() < until); // the loop is stuck for 80 ms
    await sleep(60);
    delay.stop();
    const { count, sum, cumulative } = read(counters);
    assert.ok(count >= 3, `samples: ${count}`);
    assert.ok(bucket(counters, 0.05) < count, 'the 80 ms stall is above the 50 ms bound');
    assert.ok(bucket(counters, 0.05) >= 1, 'the timer ticks before and after it were on time');
    for (let i = 1; i < cumulative.length; i++) assert.ok(cumulative[i]! >= cumulative[i - 1]!, 'cumulative');
    assert.ok(sum >= 0.06 && sum < 1, `sum ${sum} s`);
    delay.stop(); // idempotent
    assert.equal(read(counters).count, count);
  });
});
