import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../../src/core/options.ts';
import { otlpHeaderMap } from '../../../src/core/options-tracing.ts';

describe('resolveConfig: tracing', () => {
  it('is off by default: nothing sampled, nothing exported', () => {
    assert.deepEqual(resolveConfig({}).tracing, {
      sampleRatio: 0,
      otlpEndpoint: null,
      otlpHeaders: [],
      serviceName: 'actorgate',
      exportIntervalMs: 1000,
      maxQueueSpans: 4096,
    });
  });

  it('takes a ratio from 0 to 1, a collector URL and name=value headers', () => {
    const options = { sampleRatio: 0.01, otlpEndpoint: 'https://collector:4317', otlpHeaders: ['x-api-key=a=b'] };
    const tracing = resolveConfig({ tracing: options }).tracing;
    assert.equal(tracing.sampleRatio, 0.01);
    assert.equal(tracing.otlpEndpoint, 'https://collector:4317');
    assert.deepEqual(otlpHeaderMap(tracing.otlpHeaders), { 'x-api-key': 'a=b' });
  });

  it('names the bad field', () => {
    assert.throws(() => resolveConfig({ tracing: { sampleRatio: 1.5 } }), /tracing\.sampleRatio/);
    assert.throws(() => resolveConfig({ tracing: { sampleRatio: -0.1 } }), /tracing\.sampleRatio/);
    assert.throws(() => resolveConfig({ tracing: { otlpEndpoint: 'collector:4317' } }), /tracing\.otlpEndpoint/);
    const withPath = 'http://collector:4317/v1/traces';
    assert.throws(() => resolveConfig({ tracing: { otlpEndpoint: withPath } }), /tracing\.otlpEndpoint/);
    assert.throws(() => resolveConfig({ tracing: { otlpHeaders: ['X-Key=1'] } }), /tracing\.otlpHeaders\[0\]/);
    assert.throws(() => resolveConfig({ tracing: { otlpHeaders: ['novalue'] } }), /tracing\.otlpHeaders\[0\]/);
    assert.throws(() => resolveConfig({ tracing: { unknown: 1 } }), /tracing/);
  });
});
