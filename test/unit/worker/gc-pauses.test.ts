import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { GC_BOUNDS_SECONDS, GcSlot, WORKER_SLOTS } from '../../../src/core/counters.ts';
import { readHistogram } from '../../../src/core/histogram-slots.ts';
import { GcPauses, gcKindOf } from '../../../src/worker/gc-pauses.ts';

const read = (counters: Float64Array, base: number) => readHistogram(counters, base, GC_BOUNDS_SECONDS);

let sink = 0;

/** `rounds` rounds of short-lived arrays (a few MB each), a loop turn after each: the observer is called there. */
async function garbage(rounds: number): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 20_000; i++) sink += new Array(8).fill(i).length;
    await nextTurn();
  }
}

async function garbageUntil(done: () => boolean, deadlineMs: number): Promise<void> {
  const until = performance.now() + deadlineMs;
  while (!done()) {
    assert.ok(performance.now() < until, `not observed within ${deadlineMs} ms`);
    await garbage(1);
  }
}

describe('the worker GC pause histograms', () => {
  it('short-lived garbage shows as scavenges in the minor histogram: counted, timed in seconds, cumulative', async () => {
    const counters = new Float64Array(WORKER_SLOTS);
    const pauses = new GcPauses(counters);
    pauses.start();
    pauses.start(); // idempotent: one observer, each pause counted once
    await garbageUntil(() => read(counters, GcSlot.MINOR).count >= 3, 20_000);
    pauses.stop();
    const { count, sum, cumulative } = read(counters, GcSlot.MINOR);
    assert.ok(sink > 0);
    assert.ok(sum > 0, `sum ${sum} s`);
    assert.ok(sum / count < 0.1, `a scavenge of short-lived arrays averaged ${((sum / count) * 1e3).toFixed(3)} ms`);
    for (let i = 1; i < cumulative.length; i++) assert.ok(cumulative[i]! >= cumulative[i - 1]!, 'cumulative');

    // Stopped: the observer is disconnected, so further garbage is not counted.
    pauses.stop(); // idempotent
    const major = read(counters, GcSlot.MAJOR).count;
    await garbage(50); // as much as made several scavenges above
    assert.equal(read(counters, GcSlot.MINOR).count, count);
    assert.equal(read(counters, GcSlot.MAJOR).count, major);
  });

  it('maps perf_hooks kinds: scavenges are minor, every old-generation step is major', () => {
    assert.equal(gcKindOf(constants.NODE_PERFORMANCE_GC_MINOR), 'minor');
    assert.equal(gcKindOf(2), 'minor', "V8's minor mark-compact (--minor-mc): the young generation too");
    assert.equal(gcKindOf(constants.NODE_PERFORMANCE_GC_MAJOR), 'major');
    assert.equal(gcKindOf(constants.NODE_PERFORMANCE_GC_INCREMENTAL), 'major');
    assert.equal(gcKindOf(constants.NODE_PERFORMANCE_GC_WEAKCB), 'major');
  });
});
