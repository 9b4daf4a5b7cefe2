import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Control,
  MAX_TOPIC_BYTES,
  decodeControl,
  decodeTopic,
  encodeDrain,
  encodeError,
  encodeHeartbeat,
  encodeTopicControl,
  encodeTopicResult,
  encodeWelcome,
} from '../../../src/protocol/control.ts';
import { HEADER_BYTES, decodeFrame, serverTypeOf } from '../../../src/protocol/frame.ts';
import { Code } from '../../../src/protocol/codes.ts';

/** Decodes a control frame the way a client does: header first, then the body by msgId. */
function roundTrip(bytes: Uint8Array) {
  const frame = decodeFrame(bytes);
  assert.equal(frame.serverId, 0, 'control frames carry serverId 0');
  assert.equal(serverTypeOf(frame.serverId), 0);
  return decodeControl(frame.msgId, frame.payload);
}

describe('control messages', () => {
  it('error carries code, ref msgId, ref serverId and reason', () => {
    const bytes = encodeError(Code.NO_ROUTE, 0x1234, 0x80ff0102, 'no route — für dich');
    assert.equal(decodeFrame(bytes).msgId, Control.ERROR);
    assert.deepEqual(roundTrip(bytes), {
      type: 'error',
      code: Code.NO_ROUTE,
      refMsgId: 0x1234,
      refServerId: 0x80ff0102,
      reason: 'no route — für dich',
    });
  });

  it('error body layout: u16 code, u16 refMsgId, u32 refServerId, reason', () => {
    const bytes = encodeError(4501, 7, 0x01020304, 'x');
    assert.deepEqual([...bytes.subarray(HEADER_BYTES)], [0x95, 0x11, 0x07, 0x00, 0x04, 0x03, 0x02, 0x01, 0x78]);
  });

  it('error with an empty reason', () => {
    assert.deepEqual(roundTrip(encodeError(4100, 0, 0, '')), { type: 'error', code: 4100, refMsgId: 0, refServerId: 0, reason: '' });
  });

  it('drain with a URL', () => {
    const bytes = encodeDrain(15_000, 'wss://other.example:443/');
    assert.equal(decodeFrame(bytes).msgId, Control.DRAIN);
    assert.deepEqual(roundTrip(bytes), { type: 'drain', reconnectAfterMs: 15_000, url: 'wss://other.example:443/' });
  });

  it('drain without a URL is a bare u32', () => {
    const bytes = encodeDrain(0xfffffffe);
    assert.equal(bytes.byteLength, HEADER_BYTES + 4);
    assert.deepEqual(roundTrip(bytes), { type: 'drain', reconnectAfterMs: 0xfffffffe, url: '' });
  });

  it('subscribe and unsubscribe results', () => {
    const sub = encodeTopicResult(Control.SUBSCRIBE_RESULT, 0, 'room/42');
    assert.equal(decodeFrame(sub).msgId, Control.SUBSCRIBE_RESULT);
    assert.deepEqual(roundTrip(sub), { type: 'subscribe-result', code: 0, topic: 'room/42' });
    const refused = encodeTopicResult(Control.SUBSCRIBE_RESULT, Code.FORBIDDEN, 'admin/x');
    assert.deepEqual(roundTrip(refused), { type: 'subscribe-result', code: Code.FORBIDDEN, topic: 'admin/x' });
    const unsub = encodeTopicResult(Control.UNSUBSCRIBE_RESULT, 0, 'room/42');
    assert.equal(decodeFrame(unsub).msgId, Control.UNSUBSCRIBE_RESULT);
    assert.deepEqual(roundTrip(unsub), { type: 'unsubscribe-result', code: 0, topic: 'room/42' });
  });

  it('subscribe / unsubscribe requests carry the topic as the whole body', () => {
    for (const msgId of [Control.SUBSCRIBE, Control.UNSUBSCRIBE] as const) {
      const frame = decodeFrame(encodeTopicControl(msgId, 'chat/ünïcode'));
      assert.equal(frame.msgId, msgId);
      assert.equal(frame.serverId, 0);
      assert.equal(decodeTopic(frame.payload), 'chat/ünïcode');
    }
  });

  it('welcome preserves a session id above 2^53 exactly', () => {
    const sessionId = '18446744073709551615'; // 2^64 − 1
    const bytes = encodeWelcome(sessionId, 63, 'gate-a');
    assert.equal(decodeFrame(bytes).msgId, Control.WELCOME);
    assert.deepEqual(roundTrip(bytes), { type: 'welcome', sessionId, worker: 63, gateName: 'gate-a' });
    const justAbove = (2n ** 53n + 1n).toString();
    const decoded = roundTrip(encodeWelcome(justAbove, 0, ''));
    assert.equal(decoded.type, 'welcome');
    assert.equal(decoded.type === 'welcome' && decoded.sessionId, justAbove);
  });

  it('welcome body layout: u64 session id, u16 worker, gate name', () => {
    const bytes = encodeWelcome('258', 2, 'g');
    assert.deepEqual([...bytes.subarray(HEADER_BYTES)], [0x02, 0x01, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x67]);
  });

  it('heartbeat echoes its payload', () => {
    const payload = new Uint8Array([1, 2, 3]);
    const decoded = roundTrip(encodeHeartbeat(payload));
    assert.equal(decoded.type, 'heartbeat');
    assert.deepEqual(decoded.type === 'heartbeat' && [...decoded.payload], [1, 2, 3]);
    const empty = roundTrip(encodeHeartbeat());
    assert.deepEqual(empty.type === 'heartbeat' && empty.payload.byteLength, 0);
  });

  it('an unknown msgId decodes as unknown with its body', () => {
    const body = new Uint8Array([5, 6]);
    assert.deepEqual(decodeControl(99, body), { type: 'unknown', msgId: 99, body });
  });

  it('control msgIds are distinct', () => {
    const values = Object.values(Control);
    assert.equal(new Set(values).size, values.length);
  });
});

describe('decodeTopic', () => {
  const utf8 = (s: string) => new TextEncoder().encode(s);

  it('accepts 1 to 200 bytes of UTF-8', () => {
    assert.equal(decodeTopic(utf8('a')), 'a');
    assert.equal(decodeTopic(utf8('x'.repeat(MAX_TOPIC_BYTES))), 'x'.repeat(MAX_TOPIC_BYTES));
    assert.equal(decodeTopic(utf8('é'.repeat(100))), 'é'.repeat(100)); // 200 bytes
  });

  it('rejects an empty topic', () => {
    assert.equal(decodeTopic(new Uint8Array(0)), undefined);
  });

  it('rejects more than 200 bytes, counting bytes not characters', () => {
    assert.equal(decodeTopic(utf8('x'.repeat(MAX_TOPIC_BYTES + 1))), undefined);
    assert.equal(decodeTopic(utf8('é'.repeat(100) + 'x')), undefined); // 201 bytes
  });

  it('rejects invalid UTF-8', () => {
    assert.equal(decodeTopic(new Uint8Array([0x61, 0xff, 0x62])), undefined);
    assert.equal(decodeTopic(new Uint8Array([0xc3])), undefined); // truncated sequence
    assert.equal(decodeTopic(new Uint8Array([0xed, 0xa0, 0x80])), undefined); // UTF-16 surrogate
  });

  it('a rejected topic does not poison the next decode', () => {
    assert.equal(decodeTopic(new Uint8Array([0xc3])), undefined);
    assert.equal(decodeTopic(utf8('ok')), 'ok');
  });
});
