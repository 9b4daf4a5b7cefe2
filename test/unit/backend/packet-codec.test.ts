import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePacketBatch, encodeAttributes, encodePacketBatch } from '../../../src/backend/packet-codec.ts';
import { actorgateV1, PacketKind, type Packet, type PacketBatch } from '../../../src/backend/proto.ts';
import { sessionPacket, type StreamPacket } from '../../../src/backend/stream-packet.ts';
import { PacketCodecError } from '../../../src/core/errors.ts';
import { SessionIdGenerator, sessionIdText } from '../../../src/core/session-id.ts';

/** proto-loader's own codec for the stream, what backends (and the testkit's MockBackend) use. */
const method = actorgateV1().GameGateway.service.StreamPackets!;
const loaderEncode = (batch: PacketBatch): Buffer => method.requestSerialize(batch);
const loaderDecode = (bytes: Buffer): PacketBatch => method.responseDeserialize(bytes) as PacketBatch;

/** A proto-loader Packet as the gateway holds it: the id as words, every field present. */
function toStream(p: Packet): StreamPacket {
  const id = BigInt(p.sessionId ?? '0');
  return {
    idLo: Number(id & 0xffff_ffffn) | 0,
    idHi: Number(id >> 32n) | 0,
    kind: p.kind ?? PacketKind.DATA,
    msgId: p.msgId ?? 0,
    serverId: p.serverId ?? 0,
    payload: p.payload ?? new Uint8Array(0),
    traceparent: p.traceparent ?? '',
    code: p.code ?? 0,
    reason: p.reason ?? '',
    topic: p.topic ?? '',
    userId: p.userId ?? '',
    path: p.path ?? '',
    remoteAddress: p.remoteAddress ?? '',
    attributes: encodeAttributes(p.attributes ?? {}),

    probe: null,
  };
}

/** Attribute wire bytes read back by proto-loader: they are a valid Packet on their own, wrapped in a batch. */
function attributesOf(wire: Uint8Array): Record<string, string> {
  if (wire.length === 0) return {};
  const packet = Buffer.concat([Buffer.from([0x0a]), Buffer.from(encodeVarint(wire.length)), wire]);
  return loaderDecode(packet).packets[0]!.attributes!;
}

function encodeVarint(value: number): number[] {
  const out: number[] = [];
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  out.push(value);
  return out;
}

/** A decoded StreamPacket in proto-loader's shape (`defaults: true`, `longs: String`). */
function toProto(p: StreamPacket): Packet {
  const { idLo, idHi, attributes, probe: _probe, ...fields } = p;
  return { sessionId: sessionIdText(idLo, idHi), ...fields, attributes: attributesOf(attributes) };
}

const encode = (batch: PacketBatch): Buffer => encodePacketBatch({ packets: batch.packets.map(toStream) });
const decode = (bytes: Buffer): PacketBatch => ({ packets: decodePacketBatch(bytes).packets.map(toProto) });

const MAX_U32 = 0xffff_ffff;
const ids = ['1', '4294967295', '4294967296', '9007199254740991', '9007199254740992', '9007199254740993', '9223372036854775808', '18446744073709551615', new SessionIdGenerator(8191, 63).next()];
const text = 'añ€😀中文 ﷽';

/** A packet with every field set, integers at their widest varints. */
function full(kind: number, sessionId: string, payloadBytes = 32): Packet {
  return {
    sessionId,
    msgId: MAX_U32,
    serverId: MAX_U32,
    payload: Uint8Array.from({ length: payloadBytes }, (_, i) => (i * 31) & 0xff),
    kind: kind as Packet['kind'],
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    code: MAX_U32,
    reason: text,
    topic: `room.${text}`,
    userId: `user-${text}`,
    path: '/ws?q=é',
    remoteAddress: '0000:0000:0000:0000:0000:ffff:7f00:0001',
    attributes: { tenant: text, plan: 'gold', [text]: '', '': 'empty key' },
  };
}

/** Every kind with every field, then sparse packets of each kind as the gateway sends them. */
function cases(): Packet[][] {
  const out: Packet[][] = [];
  for (const kind of Object.values(PacketKind)) {
    out.push(ids.map((id) => full(kind, id)));
  }
  out.push([
    { sessionId: ids[8], kind: PacketKind.OPEN, userId: '', path: '/', remoteAddress: '127.0.0.1' },
    { sessionId: ids[8], msgId: 7, serverId: 0x0001_0203, payload: new Uint8Array(0), kind: PacketKind.DATA },
    { sessionId: ids[8], kind: PacketKind.CLOSE, code: 1000, reason: '' },
    { sessionId: '0', kind: PacketKind.DATA, topic: 'news', payload: new Uint8Array([1]) },
    {},
  ]);
  out.push([full(PacketKind.DATA, ids[7]!, 65_536), full(PacketKind.DATA, ids[0]!, 0)]);
  out.push([]);
  return out;
}

test('what the gateway encodes, proto-loader decodes to the objects its own encoding gives (every kind and field)', () => {
  for (const packets of cases()) {
    const batch = { packets };
    assert.deepStrictEqual(loaderDecode(encode(batch)), loaderDecode(loaderEncode(batch)));
  }
});

test('what proto-loader encodes, the gateway decodes to the objects proto-loader decodes (every kind and field)', () => {
  for (const packets of cases()) {
    const bytes = loaderEncode({ packets });
    assert.deepStrictEqual(decode(bytes), loaderDecode(bytes));
  }
});

test('session ids round-trip exactly as words, above 2^53 too', () => {
  const edges = [0n, 1n, 0xffff_ffffn, 1n << 32n, (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n];
  let seed = 12345;
  const random = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0);
  for (let i = 0; i < 2000; i++) edges.push((BigInt(random()) << 32n) | BigInt(random()), BigInt(random() >>> (i % 32)) << BigInt(i % 33));
  for (const value of edges) {
    const id = value.toString();
    const packet = toStream({ sessionId: id, msgId: 1 });
    const bytes = encodePacketBatch({ packets: [packet] });
    const decoded = decodePacketBatch(bytes).packets[0]!;
    assert.deepEqual([decoded.idLo, decoded.idHi], [packet.idLo, packet.idHi]);
    assert.equal(sessionIdText(decoded.idLo, decoded.idHi), id);
    assert.equal(loaderDecode(bytes).packets[0]!.sessionId, id);
  }
});

test('default-valued fields are omitted (proto3), explicit or absent', () => {
  const defaults = sessionPacket(PacketKind.DATA, 0, 0);
  assert.deepEqual([...encodePacketBatch({ packets: [defaults, toStream({})] })], [0x0a, 0x00, 0x0a, 0x00]);
  assert.equal(encodePacketBatch({ packets: [] }).length, 0);
  assert.deepStrictEqual(decodePacketBatch(Buffer.alloc(0)), { packets: [] });
});

test('uint32 fields are coerced like proto-loader’s fromObject (>>> 0)', () => {
  const packets: Packet[] = [{ sessionId: '5', msgId: 2 ** 32 + 3, serverId: -1, code: 1.9 }];
  assert.deepStrictEqual(loaderDecode(encode({ packets })), loaderDecode(loaderEncode({ packets })));
});

test('strings are UTF-8: multi-byte text keeps its bytes, a lone surrogate becomes U+FFFD with a consistent length', () => {
  const long = `${text}x`.repeat(5000);
  const [a, b] = decodePacketBatch(encode({ packets: [{ sessionId: '9', reason: long, topic: 'é' }, { sessionId: '9', topic: 'a\ud800b' }] })).packets;
  assert.equal(a!.reason, long);
  assert.equal(a!.topic, 'é');
  assert.equal(b!.topic, 'a\ufffdb');
});

test('a batch larger than the encoder’s scratch space, with many strings, encodes correctly', () => {
  const packets = Array.from({ length: 3000 }, (_, i) => full(i % 6, ids[i % ids.length]!, i % 50));
  assert.deepStrictEqual(decode(encode({ packets })), loaderDecode(loaderEncode({ packets })));
});

test('decoded payloads are views of the received bytes (no copy)', () => {
  const bytes = encode({ packets: [{ sessionId: '1', payload: new Uint8Array([1, 2, 3]) }] });
  const payload = decodePacketBatch(bytes).packets[0]!.payload!;
  assert.equal(payload.buffer, bytes.buffer);
  assert.deepEqual([...payload], [1, 2, 3]);
});

// Wire building blocks for hand-made input.
function varint(value: bigint): number[] {
  const out: number[] = [];
  while (value > 0x7fn) {
    out.push(Number(value & 0x7fn) | 0x80);
    value >>= 7n;
  }
  out.push(Number(value));
  return out;
}
const tag = (field: number, wire: number) => varint((BigInt(field) << 3n) | BigInt(wire));
const delimited = (field: number, body: number[]) => [...tag(field, 2), ...varint(BigInt(body.length)), ...body];

/** One unknown field of each wire type, a group with a nested group included. */
function unknowns(field: number): number[] {
  return [
    ...tag(field, 0), ...varint((1n << 64n) - 1n),
    ...tag(field + 1, 1), 1, 2, 3, 4, 5, 6, 7, 8,
    ...delimited(field + 2, [0xff, 0x00, 0x80]),
    ...tag(field + 3, 5), 9, 9, 9, 9,
    ...tag(field + 4, 3), ...tag(field + 5, 3), ...tag(1, 0), 7, ...tag(field + 5, 4), ...delimited(2, [1]), ...tag(field + 4, 4),
  ];
}

test('unknown fields are skipped, in a batch and in a packet (a newer backend’s additions)', () => {
  const one = encode({ packets: [full(PacketKind.SUBSCRIBE, ids[7]!)] });
  // The packet's body: after its tag and its length prefix.
  let start = 1;
  while (one[start]! >= 0x80) start++;
  const packet = [...one.subarray(start + 1)];
  const body = [...unknowns(14), ...packet, ...unknowns(1000), ...unknowns(536_870_900)];
  const bytes = Buffer.from([...unknowns(2), ...delimited(1, body), ...unknowns(20), ...delimited(1, unknowns(40))]);
  const decoded = decode(bytes);
  assert.deepStrictEqual(decoded, loaderDecode(bytes));
  assert.equal(decoded.packets.length, 2);
  assert.equal(decoded.packets[0]!.topic, `room.${text}`);
});

test('a known field with an unexpected wire type is skipped, not misread', () => {
  const bytes = Buffer.from(delimited(1, [...tag(1, 0), 5, ...delimited(2, [1, 2]), ...tag(3, 0), 4]));
  const [packet] = decodePacketBatch(bytes).packets;
  assert.deepEqual([packet!.idLo, packet!.idHi], [0, 0]);
  assert.equal(packet!.msgId, 0);
  assert.equal(packet!.serverId, 4);
});

function assertMalformed(bytes: number[] | Buffer, why: string): void {
  assert.throws(() => decodePacketBatch(Buffer.from(bytes)), (err: unknown) => {
    assert.ok(err instanceof PacketCodecError, `${why}: ${String(err)}`);
    assert.equal(err.code, 'ERR_ACTORGATE_PACKET_CODEC');
    return true;
  }, why);
}

test('truncated input throws a PacketCodecError at every cut that is not a packet boundary', () => {
  const packets = [full(PacketKind.OPEN, ids[8]!), full(PacketKind.DATA, ids[7]!, 300)];
  const bytes = encode({ packets });
  const first = encode({ packets: [packets[0]!] }).length;
  for (let cut = 1; cut < bytes.length; cut++) {
    if (cut === first) assert.equal(decodePacketBatch(bytes.subarray(0, cut)).packets.length, 1);
    else assertMalformed(bytes.subarray(0, cut), `cut at ${cut}`);
  }
});

test('malformed input throws a PacketCodecError, never anything else', () => {
  assertMalformed([0x0a, 0x05, 0x10], 'packet longer than the batch');
  assertMalformed(delimited(1, [0x09, 1, 2, 3]), 'short fixed64');
  assertMalformed(delimited(1, [0x22, 0x05, 1]), 'payload past the packet');
  assertMalformed(delimited(1, [0x10, ...Array(10).fill(0x80), 0x01]), 'varint of 11 bytes');
  assertMalformed([0x0a, ...Array(10).fill(0xff)], 'length varint of 11 bytes');
  assertMalformed([0x00, 0x00], 'field number 0');
  assertMalformed(delimited(1, [...tag(5, 6), 0]), 'wire type 6');
  assertMalformed(delimited(1, [...tag(5, 7), 0]), 'wire type 7');
  assertMalformed(tag(9, 4), 'end group without a start');
  assertMalformed([...tag(9, 3), ...tag(8, 4)], 'group ended by another field');
  assertMalformed(tag(9, 3), 'group without its end');
  assertMalformed(Array.from({ length: 200 }, () => tag(9, 3)).flat(), 'groups nested too deep');
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0) >>> 24;
  for (let i = 0; i < 20_000; i++) {
    const bytes = Buffer.from(Array.from({ length: 1 + (i % 40) }, random));
    try {
      decodePacketBatch(bytes);
    } catch (err) {
      assert.ok(err instanceof PacketCodecError, `random input ${bytes.toString('hex')}: ${String(err)}`);
    }
  }
});
