import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatTraceparent, parseTraceparent, randomSpanId, randomTraceId } from '../../../src/tracing/traceparent.ts';
import { TraceSampler } from '../../../src/tracing/trace-sampler.ts';
import { decodeTraceContext, encodeTraceContext } from '../../../src/protocol/control.ts';
import { HEADER_BYTES } from '../../../src/protocol/frame.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('parseTraceparent', () => {
  it('takes a version-00 value and its flags', () => {
    assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-01`), { traceId: TRACE, spanId: SPAN, flags: 1 });
    assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-00`), { traceId: TRACE, spanId: SPAN, flags: 0 });
  });

  it('refuses what W3C version 00 does not allow', () => {
    for (const value of [
      `01-${TRACE}-${SPAN}-01`, // another version: its format may differ
      `ff-${TRACE}-${SPAN}-01`,
      `00-${TRACE.toUpperCase()}-${SPAN}-01`, // uppercase hex
      `00-${TRACE}-${SPAN}-1`,
      `00-${TRACE}-${SPAN}-01-extra`,
      `00-${TRACE.slice(1)}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}0-01`,
      `00-${'0'.repeat(32)}-${SPAN}-01`, // all-zero ids are invalid
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00_${TRACE}_${SPAN}_01`,
      `00-${TRACE.slice(0, 31)}g-${SPAN}-01`,
      '',
    ]) {
      assert.equal(parseTraceparent(value), undefined, value);
    }
  });

  it('formats what it parses, and fresh ids are valid and distinct', () => {
    assert.equal(formatTraceparent(TRACE, SPAN, 1), `00-${TRACE}-${SPAN}-01`);
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const value = formatTraceparent(randomTraceId(), randomSpanId(), 1);
      assert.ok(parseTraceparent(value), value);
      ids.add(value);
    }
    assert.equal(ids.size, 1000);
  });
});

describe('TRACE_CONTEXT body', () => {
  const body = (frame: Uint8Array) => frame.subarray(HEADER_BYTES);

  it('round-trips the ids, with flags 01 when the client sends none', () => {
    const decoded = (flags?: number) => decodeTraceContext(body(encodeTraceContext(TRACE, SPAN, flags)));
    assert.deepEqual(decoded(), { traceId: TRACE, spanId: SPAN, flags: 1 });
    assert.deepEqual(decoded(0), { traceId: TRACE, spanId: SPAN, flags: 0 });
  });

  it('refuses other lengths and all-zero ids', () => {
    assert.equal(decodeTraceContext(new Uint8Array(23).fill(1)), undefined);
    assert.equal(decodeTraceContext(new Uint8Array(26).fill(1)), undefined);
    assert.equal(decodeTraceContext(body(encodeTraceContext('0'.repeat(32), SPAN))), undefined);
    assert.equal(decodeTraceContext(body(encodeTraceContext(TRACE, '0'.repeat(16)))), undefined);
  });
});

describe('TraceSampler', () => {
  const count = (sampler: TraceSampler, n: number) => Array.from({ length: n }).filter(() => sampler.sample()).length;

  it('takes none at 0 and all at 1', () => {
    assert.equal(count(new TraceSampler(0), 10_000), 0);
    assert.equal(count(new TraceSampler(1), 10_000), 10_000);
  });

  it('takes about the ratio between', () => {
    let seed = 1;
    // A fixed sequence (a linear congruential generator) keeps the test deterministic.
    const random = () => ((seed = (seed * 48271) % 2147483647) - 1) / 2147483646;
    const taken = count(new TraceSampler(0.01, random), 1_000_000);
    assert.ok(taken > 9_500 && taken < 10_500, String(taken));
  });
});
