import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamSessions } from '../../../src/backend/stream-sessions.ts';
import { StreamMailbox } from '../../../src/backend/stream-mailbox.ts';
import { contentBytes } from '../../../src/backend/packet-size.ts';
import { PacketKind } from '../../../src/backend/proto.ts';
import { dataPacket, sessionPacket, type StreamPacket } from '../../../src/backend/stream-packet.ts';
import type { SessionInfo } from '../../../src/backend/stream-sessions.ts';
import { SessionIdGenerator, sessionKey, type IssuedSessionId } from '../../../src/core/session-id.ts';

// Sessions are named in the tests; each name gets a real id of one worker.
const generator = new SessionIdGenerator(5, 1);
const issued = new Map<string, IssuedSessionId>();
const names = new Map<number, string>();
function idOf(name: string): IssuedSessionId {
  let id = issued.get(name);
  if (id === undefined) {
    id = generator.issue();
    issued.set(name, id);
    names.set(id.key, name);
  }
  return id;
}
const nameOf = (p: StreamPacket) => names.get(sessionKey(p.idLo, p.idHi));
const keyOf = (name: string) => idOf(name).key;
const info = (name: string): SessionInfo => {
  const id = idOf(name);
  return { id: id.text, key: id.key, idLo: id.lo, idHi: id.hi, path: `/p/${name}`, remoteAddress: '10.0.0.1', userId: undefined };
};
const data = (name: string, msgId = 1, bytes = 0): StreamPacket => dataPacket(idOf(name).lo, idOf(name).hi, msgId, 0, new Uint8Array(bytes));

/** A stream actor's view in miniature: sessions, a mailbox, the current stream's OPENed set, and the two ways packets are queued. */
function rig() {
  const sessions = new StreamSessions();
  const mailbox = new StreamMailbox(10_000);
  const r = {
    sessions,
    mailbox,
    opened: new Set<number>(),
    newStream() {
      r.opened = new Set();
    },
    send(packet: StreamPacket) {
      assert.equal(mailbox.offer(packet, 0), true);
      sessions.queued(sessionKey(packet.idLo, packet.idHi));
    },
    end(name: string) {
      const id = idOf(name);
      if (sessions.ended(id.key, r.opened)) mailbox.pushLifecycle({ ...sessionPacket(PacketKind.CLOSE, id.lo, id.hi), code: 4001 }, 0);
    },
    batch(maxPackets = Infinity, maxBytes = Infinity): StreamPacket[] {
      const out: StreamPacket[] = [];
      sessions.fillBatch(mailbox, r.opened, out, maxPackets, maxBytes);
      return out;
    },
  };
  return r;
}

const kinds = (packets: StreamPacket[]) => packets.map((p) => p.kind);

test('OPEN precedes a session’s first DATA on each stream, once per stream', () => {
  const r = rig();
  r.sessions.bind(info('a'));
  r.send(data('a', 1));
  r.send(data('a', 2));
  const first = r.batch();
  assert.deepEqual(first.map((p) => [p.kind, p.msgId]), [[PacketKind.OPEN, 0], [PacketKind.DATA, 1], [PacketKind.DATA, 2]]);
  assert.equal(first[0]!.path, '/p/a');
  r.newStream();
  r.send(data('a', 3));
  assert.deepEqual(kinds(r.batch()), [PacketKind.OPEN, PacketKind.DATA]);
});

test('a session that never sent DATA needs no CLOSE and is forgotten at once (no lifecycle growth)', () => {
  const sessions = new StreamSessions();
  for (let i = 0; i < 10_000; i++) {
    sessions.bind(info(`s${i}`));
    assert.equal(sessions.ended(keyOf(`s${i}`)), false);
    assert.equal(sessions.get(keyOf(`s${i}`)), undefined);
  }
  assert.deepEqual(sessions.releaseAll(), []);
});

test('a session closed with DATA still queued keeps its OPEN info until the CLOSE leaves', () => {
  const r = rig();
  r.sessions.bind(info('a'));
  r.send(data('a'));
  r.end('a');
  const out = r.batch();
  assert.deepEqual(kinds(out), [PacketKind.OPEN, PacketKind.DATA, PacketKind.CLOSE]);
  assert.equal(out[0]!.path, '/p/a', 'OPEN still carries the path');
  assert.deepEqual(r.sessions.releaseAll(), []);
});

test('a CLOSE for a session the current stream never OPENed is dropped, and the batch goes on past it', () => {
  const r = rig();
  r.sessions.bind(info('a'));
  r.sessions.bind(info('b'));
  r.send(data('a'));
  r.batch();
  r.end('a');
  r.newStream();
  r.send(data('b', 7));
  assert.deepEqual(r.batch(1).map((p) => [p.kind, nameOf(p)]), [[PacketKind.OPEN, 'b']], 'the new stream never saw a: its CLOSE costs nothing');
  assert.equal(r.mailbox.size, 1);
  assert.equal(r.sessions.get(keyOf('a')), undefined);
});

test('OPENs count against maxPackets: no batch is larger, every packet arrives once, sessions taken in turn', () => {
  const r = rig();
  for (let i = 0; i < 10; i++) {
    r.sessions.bind(info(`s${i}`));
    r.send(data(`s${i}`, i));
    r.send(data(`s${i}`, 100 + i));
  }
  const all: StreamPacket[] = [];
  for (let batch = r.batch(4); batch.length > 0; batch = r.batch(4)) {
    assert.ok(batch.length <= 4, `batch of ${batch.length}`);
    all.push(...batch);
  }
  // Round-robin: every session's first DATA (with its OPEN) before any session's second.
  const expected = [
    ...Array.from({ length: 10 }, (_, i) => [[PacketKind.OPEN, `s${i}`, 0], [PacketKind.DATA, `s${i}`, i]]).flat(),
    ...Array.from({ length: 10 }, (_, i) => [PacketKind.DATA, `s${i}`, 100 + i]),
  ];
  assert.deepEqual(all.map((p) => [p.kind, nameOf(p), p.msgId]), expected);
  assert.equal(r.mailbox.size, 0);
});

test('with maxPackets 1 an OPEN goes alone and its DATA leads the next batch', () => {
  const r = rig();
  r.sessions.bind(info('a'));
  r.send(data('a', 1));
  assert.deepEqual(kinds(r.batch(1)), [PacketKind.OPEN]);
  assert.deepEqual(r.batch(1).map((p) => [p.kind, p.msgId]), [[PacketKind.DATA, 1]]);
  assert.deepEqual(r.batch(1), []);
});

test('content bytes (payload and OPEN strings) stay within maxBytes, except a first entry that alone exceeds it', () => {
  const r = rig();
  for (let i = 0; i < 20; i++) {
    r.sessions.bind(info(`s${i % 4}`));
    r.send(data(`s${i % 4}`, i, 300));
  }
  r.sessions.bind(info('big'));
  r.send(data('big', 99, 5000));
  const maxBytes = 1000;
  const batches: StreamPacket[][] = [];
  for (let batch = r.batch(100, maxBytes); batch.length > 0; batch = r.batch(100, maxBytes)) batches.push(batch);
  for (const batch of batches) {
    const bytes = batch.reduce((sum, p) => sum + contentBytes(p), 0);
    const oversized = batch.length === 2 && batch[1]!.msgId === 99;
    assert.ok(bytes <= maxBytes || oversized, `batch of ${bytes} content bytes`);
  }
  // The OPEN's strings counted: a batch that opens a session holds fewer 300-byte DATA packets than one that does not.
  assert.deepEqual(batches[0]!.map((p) => p.kind), [PacketKind.OPEN, PacketKind.DATA, PacketKind.OPEN, PacketKind.DATA, PacketKind.OPEN, PacketKind.DATA]);
  const oversized = batches.find((batch) => batch.some((p) => p.msgId === 99))!;
  assert.deepEqual(kinds(oversized), [PacketKind.OPEN, PacketKind.DATA], 'the oversized DATA went with its OPEN, alone');
});
