import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, clientCloseCode, clientCloseReason, codeName, isRetryable } from '../../../src/protocol/codes.ts';

describe('code table', () => {
  const entries = Object.entries(Code);

  it('every code is unique', () => {
    const values = entries.map(([, value]) => value);
    assert.equal(new Set(values).size, values.length);
  });

  it('every code is an integer within 4000–4999', () => {
    for (const [name, value] of entries) {
      assert.ok(Number.isInteger(value) && value >= 4000 && value <= 4999, `${name} = ${value}`);
    }
  });

  it('codeName maps each code back to its name, and names unknown ones', () => {
    for (const [name, value] of entries) assert.equal(codeName(value), name);
    assert.equal(codeName(4999), 'CODE_4999');
  });

  it('isRetryable is decided by range: 4000–4499 yes, 4500–4999 no', () => {
    assert.equal(isRetryable(4000), true);
    assert.equal(isRetryable(4499), true);
    assert.equal(isRetryable(4500), false);
    assert.equal(isRetryable(4999), false);
    assert.equal(isRetryable(3999), false);
    assert.equal(isRetryable(1000), false);
    for (const [name, value] of entries) assert.equal(isRetryable(value), value < 4500, name);
  });

  it('transient conditions are retryable, client mistakes are not', () => {
    for (const code of [Code.SHUTDOWN, Code.DRAINED, Code.BACKEND_OVERLOADED, Code.BACKEND_UNAVAILABLE, Code.INTERNAL_ERROR]) {
      assert.equal(isRetryable(code), true, codeName(code));
    }
    for (const code of [Code.PROTOCOL_VIOLATION, Code.MALFORMED_FRAME, Code.PAYLOAD_TOO_LARGE, Code.NO_ROUTE, Code.BAD_TOPIC]) {
      assert.equal(isRetryable(code), false, codeName(code));
    }
  });
});

describe('clientCloseCode', () => {
  it('passes a backend code in 4000–4999 through', () => {
    for (const code of [4000, 4001, 4321, 4500, 4999]) assert.equal(clientCloseCode(code), code);
  });

  it('replaces any other code with CLOSED_BY_BACKEND', () => {
    for (const code of [0, 1000, 1006, 1011, 3000, 3999, 5000, 65535, -1]) {
      assert.equal(clientCloseCode(code), Code.CLOSED_BY_BACKEND, String(code));
    }
    assert.equal(Code.CLOSED_BY_BACKEND, 4510);
  });
});

describe('clientCloseReason', () => {
  it('keeps a reason of up to 123 bytes, and cuts a longer one at the last character boundary within them', () => {
    for (const reason of ['', 'bye', 'x'.repeat(123), 'é'.repeat(61) + 'x']) assert.equal(clientCloseReason(reason), reason);
    assert.equal(clientCloseReason('x'.repeat(200)), 'x'.repeat(123));
    assert.equal(clientCloseReason('é'.repeat(62)), 'é'.repeat(61));
    assert.equal(clientCloseReason('ab' + '€'.repeat(60)), 'ab' + '€'.repeat(40), 'three-byte characters: 2 + 120 bytes');
    assert.equal(clientCloseReason('a' + '😀'.repeat(40)), 'a' + '😀'.repeat(30), 'four-byte characters: 1 + 120 bytes');
  });
});
