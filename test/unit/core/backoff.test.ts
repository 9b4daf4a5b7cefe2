import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffCeilingMs, backoffDelayMs } from '../../../src/core/backoff.ts';
import { redisRetryDelayMs } from '../../../src/control/redis-reconnect.ts';

const policy = { initialMs: 100, maxMs: 5000, multiplier: 2 };

test('the ceiling starts at initialMs and grows by the multiplier each attempt', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffCeilingMs(n, policy)), [100, 200, 400, 800, 1600, 3200]);
  assert.deepEqual([0, 1, 2].map((n) => backoffCeilingMs(n, { initialMs: 10, maxMs: 1000, multiplier: 1.5 })), [10, 15, 22.5]);
});

test('the ceiling stops at maxMs, however many attempts (no overflow to Infinity or NaN)', () => {
  assert.equal(backoffCeilingMs(6, policy), 5000);
  assert.equal(backoffCeilingMs(50, policy), 5000);
  assert.equal(backoffCeilingMs(1_000_000, policy), 5000);
  assert.equal(backoffCeilingMs(1_000_000, { initialMs: 100, maxMs: 5000, multiplier: 1 }), 100, 'multiplier 1: constant');
});

test('full jitter: the delay is random × ceiling, so it spans 0 up to (not including) the ceiling', () => {
  assert.equal(backoffDelayMs(3, policy, () => 0), 0);
  assert.equal(backoffDelayMs(3, policy, () => 0.5), 400);
  assert.ok(backoffDelayMs(3, policy, () => 1 - Number.EPSILON) < 800);
  assert.equal(backoffDelayMs(40, policy, () => 0.25), 1250);
});

test('with Math.random, delays fall in [0, ceiling) and use the whole range', () => {
  for (const attempt of [0, 2, 10]) {
    const ceiling = backoffCeilingMs(attempt, policy);
    const delays = Array.from({ length: 2000 }, () => backoffDelayMs(attempt, policy));
    assert.ok(delays.every((d) => d >= 0 && d < ceiling), `attempt ${attempt}: within [0, ${ceiling})`);
    // 2000 uniform draws: the chance that none lands in the lowest or the highest tenth is below 1e-90.
    assert.ok(delays.some((d) => d < ceiling / 10), `attempt ${attempt}: some short delays`);
    assert.ok(delays.some((d) => d > (ceiling * 9) / 10), `attempt ${attempt}: some long delays`);
  }
});

test('Redis reconnects wait 50 ms, then double each attempt up to 5 s (ioredis numbers attempts from 1)', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map(redisRetryDelayMs), [50, 100, 200, 400, 800, 1600, 3200, 5000]);
  assert.equal(redisRetryDelayMs(10_000), 5000);
});
