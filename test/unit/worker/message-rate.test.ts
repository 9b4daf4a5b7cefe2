import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../../src/core/options.ts';
import { MessageRate, ratePolicy, RateVerdict, STREAK_GAP_MS } from '../../../src/worker/message-rate.ts';

function policy(limits: Record<string, number>) {
  return ratePolicy(resolveConfig({ limits }).limits)!;
}

describe('MessageRate', () => {
  it('both rates off: no policy, nothing to check', () => {
    assert.equal(ratePolicy(resolveConfig({ limits: { messagesPerSecond: 0, bytesPerSecond: 0 } }).limits), undefined);
  });

  it('refuses past the message burst and lets the rate through as the clock moves', () => {
    const p = policy({ messagesPerSecond: 100, messageBurst: 10, bytesPerSecond: 0 });
    const rate = new MessageRate(p, 0);
    const first = Array.from({ length: 15 }, () => rate.check(10, 0, p));
    assert.equal(first.filter((v) => v === RateVerdict.PASS).length, 10);
    assert.equal(first.at(-1), RateVerdict.REFUSE);
    assert.equal(rate.check(10, 100, p), RateVerdict.PASS, '100 ms at 100/s: ten more');
  });

  it('refuses past the byte burst; a message refused for its bytes takes no message token', () => {
    const p = policy({ messagesPerSecond: 10, messageBurst: 2, bytesPerSecond: 1000, byteBurst: 65_543, maxPayloadBytes: 65_535 });
    const rate = new MessageRate(p, 0);
    assert.equal(rate.check(65_543, 0, p), RateVerdict.PASS);
    assert.equal(rate.check(100, 0, p), RateVerdict.REFUSE, 'bytes empty');
    assert.equal(rate.check(100, 100, p), RateVerdict.PASS, 'the message token was given back: 100 bytes refilled in 100 ms');
  });

  it('a streak of refusals with no refusal-free second closes after rateLimitCloseAfterMs, then drops silently', () => {
    const p = policy({ messagesPerSecond: 10, messageBurst: 1, bytesPerSecond: 0, rateLimitCloseAfterMs: 3000 });
    const rate = new MessageRate(p, 0);
    const closes: number[] = [];
    for (let t = 0; t <= 4000; t += 50) for (let i = 0; i < 5; i++) if (rate.check(8, t, p) === RateVerdict.CLOSE) closes.push(t);
    assert.deepEqual(closes, [3000], 'once, when the streak is 3 s old');
    assert.equal(rate.check(8, 5000, p), RateVerdict.DROP, 'after the close: dropped unanswered');
  });

  it('per-route buckets are per rule; their refusals and the session\'s feed one streak', () => {
    const p = ratePolicy(resolveConfig({ limits: { messagesPerSecond: 0, bytesPerSecond: 0, rateLimitCloseAfterMs: 2000 } }).limits, true)!;
    const route = { messagesPerSecond: 10, messageBurst: 2, bytesPerSecond: 0, byteBurst: 1 };
    const rate = new MessageRate(p, 0);
    assert.equal(rate.check(8, 0, p), RateVerdict.PASS, 'session rates off: no buckets of its own');
    const first = Array.from({ length: 3 }, () => rate.checkRoute(0, route, 8, 0, p));
    assert.deepEqual(first, [RateVerdict.PASS, RateVerdict.PASS, RateVerdict.REFUSE]);
    assert.equal(rate.checkRoute(1, route, 8, 0, p), RateVerdict.PASS, 'another rule has its own buckets');
    // Refusals by the route, then by another limit (the user's, say): one streak, closed 2 s after it began.
    assert.deepEqual(Array.from({ length: 3 }, () => rate.checkRoute(0, route, 8, 900, p)), [RateVerdict.PASS, RateVerdict.PASS, RateVerdict.REFUSE]);
    assert.equal(rate.refused(1800, p), RateVerdict.REFUSE);
    assert.equal(rate.refused(2000, p), RateVerdict.CLOSE);
    assert.equal(rate.check(8, 2100, p), RateVerdict.DROP);
  });

  it('a client that pauses for a second between bursts starts a new streak and is never closed', () => {
    const p = policy({ messagesPerSecond: 10, messageBurst: 1, bytesPerSecond: 0, rateLimitCloseAfterMs: 2000 });
    const rate = new MessageRate(p, 0);
    for (let t = 0; t < 20_000; t += STREAK_GAP_MS + 100) {
      for (let i = 0; i < 5; i++) assert.notEqual(rate.check(8, t, p), RateVerdict.CLOSE, `t=${t}`);
    }
  });
});
