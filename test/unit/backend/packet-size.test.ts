import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PACKET_FRAMING_BYTES, contentBytes } from '../../../src/backend/packet-size.ts';
import { encodeAttributes, encodePacketBatch } from '../../../src/backend/packet-codec.ts';
import { PacketKind } from '../../../src/backend/proto.ts';
import { dataPacket, sessionPacket, type StreamPacket } from '../../../src/backend/stream-packet.ts';

const MAX_U32 = 0xffff_ffff;

/** Every field set, integers at their widest varints, strings with multi-byte UTF-8, lengths needing 3-byte prefixes. */
function worstCase(payloadBytes: number, text: string): StreamPacket {
  return {
    idLo: -1,
    idHi: -1,
    msgId: MAX_U32,
    serverId: MAX_U32,
    payload: new Uint8Array(payloadBytes),
    kind: PacketKind.BIND_USER,
    traceparent: text,
    code: MAX_U32,
    reason: text,
    topic: text,
    userId: text,
    path: text,
    remoteAddress: text,
    attributes: encodeAttributes({ [text]: text, tenant: text }),

    probe: null,
  };
}

test('a serialized batch is at most its content bytes plus PACKET_FRAMING_BYTES per packet', () => {
  const cases: StreamPacket[][] = [
    [worstCase(0, '')],
    [worstCase(65_535, 'é'.repeat(20_000))],
    Array.from({ length: 50 }, (_, i) => worstCase(i * 997, 'ü'.repeat(i * 31))),
    // Client DATA as the gateway writes it, and the OPEN before it.
    [{ ...sessionPacket(PacketKind.OPEN, -1, -1), path: '/', remoteAddress: '0000:0000:0000:0000:0000:ffff:7f00:0001' }, dataPacket(-1, -1, 65_535, 0x7fff_ffff, new Uint8Array(4))],
  ];
  for (const packets of cases) {
    const content = packets.reduce((sum, p) => sum + contentBytes(p), 0);
    const wire = encodePacketBatch({ packets }).length;
    assert.ok(wire <= content + PACKET_FRAMING_BYTES * packets.length, `${packets.length} packets: ${wire} wire bytes, ${content} content`);
    assert.ok(wire > content, 'framing is not free: the bound is not vacuous');
  }
});

test('content bytes count UTF-8, not UTF-16 code units', () => {
  assert.equal(contentBytes({ ...dataPacket(1, 0, 0, 0, new Uint8Array(3)), topic: 'é', path: '/ü' }), 2 + 3 + 3);
  assert.equal(contentBytes(sessionPacket(PacketKind.DATA, 1, 0)), 0);
});

test('an empty batch (the half-open probe) serializes to nothing', () => {
  assert.equal(encodePacketBatch({ packets: [] }).length, 0);
});
