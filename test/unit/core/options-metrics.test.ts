import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../../src/core/options.ts';

describe('metrics options', () => {
  it('stageSampleEvery: 64 by default, 0 turns the stage histograms off, a bad value names the field', () => {
    assert.equal(resolveConfig({}).metrics.stageSampleEvery, 64);
    assert.equal(resolveConfig({ metrics: { stageSampleEvery: 0 } }).metrics.stageSampleEvery, 0);
    assert.equal(resolveConfig({ metrics: { stageSampleEvery: 1 } }).metrics.stageSampleEvery, 1);
    for (const bad of [-1, 1.5, '8']) {
      assert.throws(() => resolveConfig({ metrics: { stageSampleEvery: bad as never } }), /metrics\.stageSampleEvery/);
    }
    assert.throws(() => resolveConfig({ metrics: { sampleEvery: 1 } as never }), /metrics\.sampleEvery/);
  });
});
