import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from '../../../src/core/token-bucket.ts';

describe('TokenBucket', () => {
  it('gives its burst at once, then refuses until time refills it at its rate', () => {
    const bucket = new TokenBucket(5, 0);
    for (let i = 0; i < 5; i++) assert.equal(bucket.take(1, 0, 10, 5), true, `token ${i}`);
    assert.equal(bucket.take(1, 0, 10, 5), false, 'empty');
    assert.equal(bucket.take(1, 50, 10, 5), false, 'half a token after 50 ms at 10/s');
    assert.equal(bucket.take(1, 100, 10, 5), true, 'one token after 100 ms');
    assert.equal(bucket.take(1, 100, 10, 5), false);
  });

  it('never holds more than its burst, however long it waited', () => {
    const bucket = new TokenBucket(3, 0);
    assert.equal(bucket.take(3, 0, 1000, 3), true);
    let taken = 0;
    while (bucket.take(1, 3_600_000, 1000, 3)) taken++;
    assert.equal(taken, 3);
  });

  it('takes a cost in one piece or not at all', () => {
    const bucket = new TokenBucket(100, 0);
    assert.equal(bucket.take(60, 0, 100, 100), true);
    assert.equal(bucket.take(60, 0, 100, 100), false);
    assert.equal(bucket.tokens, 40, 'a refused take leaves the tokens');
    assert.equal(bucket.take(60, 200, 100, 100), true, '40 + 20 refilled');
  });

  it('a clock that does not move (the coarse clock between ticks) refills nothing; one that steps back neither', () => {
    const bucket = new TokenBucket(1, 1000);
    assert.equal(bucket.take(1, 1000, 1e6, 1), true);
    assert.equal(bucket.take(1, 1000, 1e6, 1), false);
    assert.equal(bucket.take(1, 900, 1e6, 1), false);
    assert.equal(bucket.take(1, 1001, 1e6, 1), true);
  });
});
