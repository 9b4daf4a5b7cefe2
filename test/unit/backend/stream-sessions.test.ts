import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamSessions } from '../../../src/backend/stream-sessions.ts';
import { PacketKind, type Packet } from '../../../src/backend/proto.ts';

const info = (id: string) => ({ id, path: `/p/${id}`, remoteAddress: '10.0.0.1', userId: undefined });
const data = (id: string, msgId = 1): Packet => ({ sessionId: id, kind: PacketKind.DATA, msgId });
const close = (id: string): Packet => ({ sessionId: id, kind: PacketKind.CLOSE, code: 4001 });

test('OPEN precedes a session’s first DATA on each stream, once per stream', () => {
  const sessions = new StreamSessions();
  sessions.bind(info('a'));
  sessions.queued('a');
  sessions.queued('a');
  const first = sessions.withLifecycle([data('a', 1), data('a', 2)]);
  assert.deepEqual(first.map((p) => [p.kind, p.msgId]), [[PacketKind.OPEN, undefined], [PacketKind.DATA, 1], [PacketKind.DATA, 2]]);
  assert.equal(first[0]!.path, '/p/a');
  sessions.newStream();
  sessions.queued('a');
  assert.deepEqual(sessions.withLifecycle([data('a', 3)]).map((p) => p.kind), [PacketKind.OPEN, PacketKind.DATA]);
});

test('a session that never sent DATA needs no CLOSE and is forgotten at once (no lifecycle growth)', () => {
  const sessions = new StreamSessions();
  for (let i = 0; i < 10_000; i++) {
    sessions.bind(info(`s${i}`));
    assert.equal(sessions.ended(`s${i}`), false);
  }
  assert.equal(sessions.size, 0);
});

test('a session closed with DATA still queued keeps its OPEN info until the CLOSE leaves', () => {
  const sessions = new StreamSessions();
  sessions.bind(info('a'));
  sessions.queued('a');
  assert.equal(sessions.ended('a'), true);
  const out = sessions.withLifecycle([data('a'), close('a')]);
  assert.deepEqual(out.map((p) => p.kind), [PacketKind.OPEN, PacketKind.DATA, PacketKind.CLOSE]);
  assert.equal(out[0]!.path, '/p/a', 'OPEN still carries the path');
  assert.equal(sessions.size, 0);
});

test('a CLOSE for a session the current stream never OPENed is dropped', () => {
  const sessions = new StreamSessions();
  sessions.bind(info('a'));
  sessions.queued('a');
  sessions.withLifecycle([data('a')]);
  assert.equal(sessions.ended('a'), true, 'opened on this stream: CLOSE needed');
  sessions.newStream();
  assert.deepEqual(sessions.withLifecycle([close('a')]), [], 'the new stream never saw it');
});
