import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pushInputsOf } from '../../../src/push/http-push.ts';

describe('POST /v1/push bodies', () => {
  it('decodes standard base64 payloads, padded or not', () => {
    for (const [text, bytes] of [['', ''], ['aA==', 'h'], ['aA', 'h'], ['aGk=', 'hi'], ['aGk', 'hi'], ['aGkh', 'hi!'], ['+/8=', '\xfb\xff']] as const) {
      const [input] = pushInputsOf({ topic: 't', payload: text }, true);
      assert.deepEqual(input!.payload, Buffer.from(bytes, 'latin1'), text);
    }
  });

  it('refuses a payload that is not base64 instead of delivering what Node would make of it', () => {
    for (const text of ['not base64!', 'aGk=x', 'a', 'aGk==', '====', 'aG=k', 'aGk\n', 'aB==', '-_8=']) {
      assert.throws(() => pushInputsOf({ topic: 't', payload: text }, true), /payload must be a base64 string/, JSON.stringify(text));
    }
  });

  it('refuses a body that is an array, or whose pushes is not one, rather than dropping every push', () => {
    assert.throws(() => pushInputsOf([{ topic: 't' }], true), /body must be an object/);
    assert.throws(() => pushInputsOf({ pushes: { topic: 't' } }, true), /pushes must be an array/);
    assert.throws(() => pushInputsOf({ pushes: [[{ topic: 't' }]] }, true), /pushes\[0\] must be an object/);
    assert.equal(pushInputsOf({ pushes: [{ topic: 'a' }, { topic: 'b' }] }, true).length, 2);
  });
});
