import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DrainSchedule, drainOffsets, drainTickMs, type DrainSpread } from '../../../src/worker/drain-schedule.ts';

const spread = (counts: number[], windowMs = 1000, fromMs = 0): DrainSpread => ({ windowMs, fromMs, counts });

/** Every worker's offsets for `counts`, merged and sorted. */
function union(counts: number[], windowMs = 1000): number[] {
  return counts.flatMap((n, w) => drainOffsets(spread(counts, windowMs), w, n)).sort((a, b) => a - b);
}

describe('drainOffsets', () => {
  it('gives the sessions of all workers evenly spaced times over the window, equal counts or not', () => {
    for (const counts of [[30, 30], [31, 29], [10, 0, 7], [1], [5, 5, 5, 5]]) {
      const total = counts.reduce((a, b) => a + b, 0);
      const step = 1000 / total;
      const times = union(counts);
      assert.equal(times.length, total);
      times.forEach((t, i) => assert.ok(Math.abs(t - i * step) <= 1, `${counts}: #${i} at ${t}, not ${i * step}`));
    }
  });

  it('spreads each worker over the whole window, not one part of it', () => {
    const offsets = drainOffsets(spread([40, 10]), 1, 10);
    assert.ok(offsets[0]! < 100 && offsets.at(-1)! > 850, `${offsets}`);
    for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i]! > offsets[i - 1]!);
  });

  it('a worker counts its own sessions; a restarted one spreads them over what is left of the window', () => {
    assert.deepEqual(drainOffsets(spread([99, 0]), 0, 2), [0, 500]);
    assert.deepEqual(drainOffsets(spread([0, 0], 1000, 600), 1, 4), [600, 700, 800, 900]);
    assert.deepEqual(drainOffsets(spread([0], 1000, 1000), 0, 2), [1000, 1000]);
  });
});

describe('DrainSchedule', () => {
  it('tells each session its time, and closes the open ones in waves as they fall due', () => {
    const sessions = [0, 1, 2, 3].map((id) => ({ id, closed: id === 2 }));
    const closed: number[] = [];
    const close = (s: { id: number }) => closed.push(s.id);
    const schedule = new DrainSchedule(sessions, spread([4], 400), 0, (s) => !s.closed, close);
    schedule.arm(10_000);
    assert.deepEqual(sessions.map((_, i) => schedule.reconnectAfterMs(i)), [0, 100, 200, 300]);
    const late = new DrainSchedule(sessions, spread([0], 400, 250), 0, () => true, () => {});
    assert.deepEqual(sessions.map((_, i) => late.reconnectAfterMs(i)), [0, 37, 75, 112], 'restarted: what is left');
    assert.equal(schedule.tickMs, 10);
    assert.equal(schedule.tick(10_009), 0, 'a tick of grace');
    assert.equal(schedule.tick(10_109), 1);
    assert.deepEqual(closed, [0]);
    assert.equal(schedule.tick(10_260), 1, 'session 2 left by itself: skipped');
    assert.deepEqual(closed, [0, 1]);
    schedule.tick(10_310);
    assert.deepEqual(closed, [0, 1, 3]);
  });

  it('ticks at about a hundredth of the window, between 10 and 100 ms', () => {
    assert.deepEqual([500, 1500, 10_000, 60_000].map(drainTickMs), [10, 15, 100, 100]);
  });
});
