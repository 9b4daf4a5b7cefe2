import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  FrameFault,
  FrameWriter,
  HEADER_BYTES,
  MAX_PAYLOAD_BYTES,
  checkFrame,
  decodeFrame,
  encodeFrame,
  instIdOf,
  isZipOf,
  packServerId,
  readMsgId,
  readServerId,
  serverTypeOf,
  unpackServerId,
  worldIdOf,
} from '../../../src/protocol/frame.ts';

/** A raw message: header with the given length field, then `payloadBytes` bytes. */
function raw(lengthField: number, payloadBytes: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + payloadBytes);
  new DataView(bytes.buffer).setUint16(0, lengthField, true);
  return bytes;
}

describe('frame encode/decode', () => {
  it('round-trips msgId, serverId and payload', () => {
    const serverId = packServerId({ isZip: true, worldId: 1234, serverType: 7, instId: 9 });
    const payload = new Uint8Array([1, 2, 3, 250, 0, 255]);
    const frame = encodeFrame(0xbeef, serverId, payload);
    assert.equal(frame.byteLength, HEADER_BYTES + payload.byteLength);
    const decoded = decodeFrame(frame);
    assert.equal(decoded.msgId, 0xbeef);
    assert.equal(decoded.serverId, serverId);
    assert.deepEqual([...decoded.payload], [...payload]);
  });

  it('round-trips an empty payload and a maximal one', () => {
    const empty = decodeFrame(encodeFrame(1, 2, new Uint8Array(0)));
    assert.equal(empty.payload.byteLength, 0);
    const big = new Uint8Array(MAX_PAYLOAD_BYTES).fill(0xab);
    const decoded = decodeFrame(encodeFrame(3, 4, big));
    assert.equal(decoded.payload.byteLength, MAX_PAYLOAD_BYTES);
    assert.equal(decoded.payload[MAX_PAYLOAD_BYTES - 1], 0xab);
  });

  it('decodes from an ArrayBuffer and from a Uint8Array view at an offset', () => {
    const frame = encodeFrame(5, 6, new Uint8Array([9, 8, 7]));
    const copy = new ArrayBuffer(frame.byteLength);
    new Uint8Array(copy).set(frame);
    const fromBuffer = decodeFrame(copy);
    assert.deepEqual([...fromBuffer.payload], [9, 8, 7]);
    const host = new Uint8Array(frame.byteLength + 5);
    host.set(frame, 5);
    const fromView = decodeFrame(host.subarray(5));
    assert.equal(fromView.msgId, 5);
    assert.equal(fromView.serverId, 6);
    assert.deepEqual([...fromView.payload], [9, 8, 7]);
  });

  it('decodeFrame throws on a malformed frame', () => {
    assert.throws(() => decodeFrame(new Uint8Array(7)), RangeError);
    const frame = encodeFrame(1, 1, new Uint8Array(4));
    assert.throws(() => decodeFrame(frame.subarray(0, frame.byteLength - 1)), RangeError);
  });

  it('lays the header out little-endian, byte by byte', () => {
    const frame = encodeFrame(0x1234, 0x89abcdef, new Uint8Array([0xaa, 0xbb, 0xcc]));
    assert.deepEqual([...frame], [
      0x03, 0x00, // length 3
      0x34, 0x12, // msgId 0x1234
      0xef, 0xcd, 0xab, 0x89, // serverId 0x89abcdef
      0xaa, 0xbb, 0xcc,
    ]);
  });

  it('puts isZip in the top byte of the serverId on the wire', () => {
    const frame = encodeFrame(0, packServerId({ isZip: true }), new Uint8Array(0));
    assert.deepEqual([...frame.subarray(4, 8)], [0x00, 0x00, 0x00, 0x80]);
  });

  it('refuses a payload over 65535 bytes', () => {
    assert.throws(() => encodeFrame(1, 1, new Uint8Array(MAX_PAYLOAD_BYTES + 1)), RangeError);
  });

  it('reads msgId and serverId in place', () => {
    const frame = encodeFrame(0xfffe, 0xffffffff, new Uint8Array(1));
    assert.equal(readMsgId(frame), 0xfffe);
    assert.equal(readServerId(frame), 0xffffffff);
  });
});

describe('serverId pack/unpack', () => {
  it('round-trips every field at its limits', () => {
    for (const isZip of [false, true]) {
      for (const worldId of [0, 1, 0x4000, 0x7fff]) {
        for (const serverType of [0, 1, 0x80, 0xff]) {
          for (const instId of [0, 1, 0x80, 0xff]) {
            const id = packServerId({ isZip, worldId, serverType, instId });
            assert.ok(id >= 0 && id <= 0xffffffff, 'unsigned 32-bit');
            assert.deepEqual(unpackServerId(id), { isZip, worldId, serverType, instId });
          }
        }
      }
    }
  });

  it('places each field in its documented bits', () => {
    assert.equal(packServerId({ isZip: true }), 0x80000000);
    assert.equal(packServerId({ worldId: 0x7fff }), 0x7fff0000);
    assert.equal(packServerId({ serverType: 0xff }), 0x0000ff00);
    assert.equal(packServerId({ instId: 0xff }), 0x000000ff);
    assert.equal(packServerId({}), 0);
  });

  it('keeps worldId to 15 bits, separate from isZip', () => {
    const allWorld = packServerId({ worldId: 0x7fff });
    assert.equal(isZipOf(allWorld), false);
    assert.equal(worldIdOf(allWorld), 0x7fff);
    const zipOnly = packServerId({ isZip: true });
    assert.equal(worldIdOf(zipOnly), 0);
    assert.equal(isZipOf(zipOnly), true);
  });

  it('single-field readers agree with unpackServerId', () => {
    const id = packServerId({ isZip: true, worldId: 321, serverType: 45, instId: 67 });
    assert.equal(serverTypeOf(id), 45);
    assert.equal(worldIdOf(id), 321);
    assert.equal(instIdOf(id), 67);
    assert.equal(isZipOf(id), true);
  });

  it('refuses out-of-range fields', () => {
    assert.throws(() => packServerId({ worldId: 0x8000 }), RangeError);
    assert.throws(() => packServerId({ worldId: -1 }), RangeError);
    assert.throws(() => packServerId({ serverType: 256 }), RangeError);
    assert.throws(() => packServerId({ serverType: -1 }), RangeError);
    assert.throws(() => packServerId({ instId: 256 }), RangeError);
    assert.throws(() => packServerId({ instId: -1 }), RangeError);
  });
});

describe('checkFrame', () => {
  it('accepts a well-formed frame', () => {
    assert.equal(checkFrame(raw(10, 10), 100), FrameFault.NONE);
    assert.equal(checkFrame(raw(0, 0), 100), FrameFault.NONE);
  });

  it('reports MALFORMED below 8 bytes', () => {
    for (let size = 0; size < HEADER_BYTES; size++) {
      assert.equal(checkFrame(new Uint8Array(size), 100), FrameFault.MALFORMED, `size ${size}`);
    }
  });

  it('reports LENGTH_MISMATCH when length is not size − 8', () => {
    assert.equal(checkFrame(raw(11, 10), 100), FrameFault.LENGTH_MISMATCH);
    assert.equal(checkFrame(raw(9, 10), 100), FrameFault.LENGTH_MISMATCH);
    assert.equal(checkFrame(raw(1, 0), 100), FrameFault.LENGTH_MISMATCH);
    // A length field claiming more than the limit is still a mismatch when the message itself is small.
    assert.equal(checkFrame(raw(5000, 10), 100), FrameFault.LENGTH_MISMATCH);
  });

  it('reports TOO_LARGE over maxPayload', () => {
    assert.equal(checkFrame(raw(101, 101), 100), FrameFault.TOO_LARGE);
    // A payload over the limit is too large whatever its length field says.
    assert.equal(checkFrame(raw(3, 101), 100), FrameFault.TOO_LARGE);
    assert.equal(checkFrame(raw(1, 1), 0), FrameFault.TOO_LARGE);
  });

  it('accepts a payload of exactly maxPayload', () => {
    assert.equal(checkFrame(raw(100, 100), 100), FrameFault.NONE);
    assert.equal(checkFrame(raw(0, 0), 0), FrameFault.NONE);
    assert.equal(checkFrame(raw(MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES), MAX_PAYLOAD_BYTES), FrameFault.NONE);
  });

  it('checks a view at an offset into a larger buffer', () => {
    const host = new Uint8Array(32);
    const frame = encodeFrame(1, 2, new Uint8Array(4));
    host.set(frame, 3);
    assert.equal(checkFrame(host.subarray(3, 3 + frame.byteLength), 100), FrameFault.NONE);
    assert.equal(readServerId(host.subarray(3, 3 + frame.byteLength)), 2);
  });
});

describe('FrameWriter', () => {
  it('writes the same bytes as encodeFrame, reusing one buffer and growing it for bigger payloads', () => {
    const writer = new FrameWriter();
    for (const size of [0, 1, 32, 4088, 4089, 20_000, MAX_PAYLOAD_BYTES, 10]) {
      const payload = Uint8Array.from({ length: size }, (_, i) => (i * 7 + size) & 0xff);
      const frame = writer.frame(0xbeef, 0x8001_0203, payload);
      assert.deepEqual(Buffer.from(frame), Buffer.from(encodeFrame(0xbeef, 0x8001_0203, payload)), `payload of ${size} bytes`);
    }
    const first = writer.frame(1, 256, Uint8Array.of(1, 2, 3));
    const second = writer.frame(2, 256, Uint8Array.of(9));
    assert.equal(first.buffer, second.buffer, 'one buffer serves every frame');
  });

  it('refuses a payload over the protocol limit', () => {
    assert.throws(() => new FrameWriter().frame(1, 256, new Uint8Array(MAX_PAYLOAD_BYTES + 1)), RangeError);
  });
});
