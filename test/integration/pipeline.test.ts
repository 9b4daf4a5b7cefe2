import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, Control, PacketKind, connectClient, encodeFrame, packServerId, startMockBackend, waitUntil, type MockBackend } from '../../src/testkit/index.ts';
import { encodeTopicControl } from '../../src/protocol/control.ts';
import type { Gateway } from '../../src/gateway.ts';
import { clientsOnEveryWorker, metric, testGateway, urlOf } from './helpers.ts';

const GAME = packServerId({ serverType: 1 });

describe('pipeline: client → worker actor → stream actor → gRPC backend → client', () => {
  let backend: MockBackend;
  let gateway: Gateway;

  before(async () => {
    backend = await startMockBackend();
    gateway = await testGateway({
      routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
      topics: { allow: ['room.*'] },
      limits: { maxPayloadBytes: 1024, maxViolations: 1000 },
    });
  });
  after(async () => {
    await gateway.close();
    await backend.close();
  });

  test('N workers share one port; the supervisor knows each worker state and session count', async () => {
    const byWorker = await clientsOnEveryWorker(gateway, 2);
    await waitUntil(() => gateway.workers().every((w, i) => w.sessions === byWorker[i]!.length), 5000, 'session counts');
    assert.deepEqual(gateway.workers().map((w) => w.state), ['running', 'running']);
    assert.equal(gateway.sessions, byWorker.flat().length);
    assert.equal(await metric(gateway, 'actorgate_sessions'), byWorker.flat().length);
    for (const client of byWorker.flat()) await client.close();
    await waitUntil(() => gateway.sessions === 0, 5000, 'sessions to end');
  });

  test('each session id names its worker, and ids are unique', async () => {
    const byWorker = await clientsOnEveryWorker(gateway, 3);
    const { workerOfSession } = await import('../../src/core/session-id.ts');
    const ids = new Set<string>();
    byWorker.forEach((clients, worker) => {
      for (const client of clients) {
        assert.equal(workerOfSession(client.sessionId), worker);
        ids.add(client.sessionId);
      }
    });
    assert.equal(ids.size, byWorker.flat().length);
    for (const client of byWorker.flat()) await client.close();
  });

  test('messages round-trip through the backend in order, OPEN first, with gate-name metadata', async () => {
    const client = await connectClient(urlOf(gateway, '/game/lobby'));
    for (let i = 0; i < 300; i++) client.send(i, GAME, `m${i}`);
    const frames = await client.waitForFrames(300, 10_000);
    assert.deepEqual(frames.map((f) => f.payload.toString()), Array.from({ length: 300 }, (_, i) => `m${i}`));
    assert.ok(frames.every((f) => f.serverId === GAME));
    const mine = backend.packets.filter((p) => p.sessionId === client.sessionId);
    assert.equal(mine[0]!.kind, PacketKind.OPEN);
    assert.equal(mine[0]!.path, '/game/lobby');
    assert.equal(mine[0]!.gateName, `it/${client.worker}`);
    assert.equal(mine.filter((p) => p.kind === PacketKind.OPEN).length, 1);
    await client.close();
    await backend.waitFor((p) => p.sessionId === client.sessionId && p.kind === PacketKind.CLOSE);
    const kinds = backend.packets.filter((p) => p.sessionId === client.sessionId).map((p) => p.kind);
    assert.equal(kinds.at(-1), PacketKind.CLOSE, 'CLOSE follows the last DATA');
  });

  test('backend DATA reaches only its session; backend CLOSE closes it with the backend code', async () => {
    const [a, b] = [await connectClient(urlOf(gateway)), await connectClient(urlOf(gateway))];
    a.send(1, GAME, 'hello');
    b.send(1, GAME, 'hello');
    await a.waitForFrames(1);
    await b.waitForFrames(1);
    backend.sendData(a.sessionId, 42, GAME, 'only for a');
    const frame = await a.waitForFrame((f) => f.msgId === 42);
    assert.equal(frame.payload.toString(), 'only for a');
    backend.closeSession(a.sessionId, 4321, 'kicked');
    assert.deepEqual(await a.closed, { code: 4321, reason: 'kicked' });
    backend.closeSession(b.sessionId, 1000, 'normal');
    assert.equal((await b.closed).code, Code.CLOSED_BY_BACKEND, 'codes outside 4000–4999 are replaced');
    assert.equal(a.frames.length + b.frames.length, 3, 'no frame leaked to the other session');
  });

  test('protocol faults get their error code; nothing crashes', async () => {
    const client = await connectClient(urlOf(gateway));
    const cases: [Uint8Array | string, number][] = [
      [new Uint8Array([1, 2, 3]), Code.MALFORMED_FRAME],
      [withLength(encodeFrame(1, GAME, new Uint8Array(10)), 3), Code.LENGTH_MISMATCH],
      [encodeFrame(2, GAME, new Uint8Array(2000)), Code.PAYLOAD_TOO_LARGE],
      [encodeFrame(99, 0, new Uint8Array(0)), Code.UNKNOWN_CONTROL],
      [encodeFrame(3, packServerId({ serverType: 7 }), new Uint8Array(1)), Code.NO_ROUTE],
      ['text', Code.TEXT_NOT_SUPPORTED],
    ];
    for (const [bytes, code] of cases) {
      if (typeof bytes === 'string') client.sendText(bytes);
      else client.sendRaw(bytes);
      const error = await client.waitForControl('error');
      assert.equal(error.code, code);
    }
    client.send(5, GAME, 'still alive');
    assert.equal((await client.waitForFrame((f) => f.msgId === 5)).payload.toString(), 'still alive');
    assert.equal(await metric(gateway, 'actorgate_client_messages_refused_total', { reason: 'no_route' }), 1);
    await client.close();
  });

  test('heartbeat is echoed; subscribe follows topics.allow; a backend topic publish reaches subscribers', async () => {
    const client = await connectClient(urlOf(gateway));
    client.heartbeat(new Uint8Array([7, 7]));
    assert.deepEqual([...(await client.waitForControl('heartbeat')).payload], [7, 7]);
    client.subscribe('secret');
    assert.equal((await client.waitForControl('subscribe-result')).code, Code.FORBIDDEN);
    client.subscribe('room.1');
    assert.deepEqual(await client.waitForControl('subscribe-result'), { type: 'subscribe-result', code: 0, topic: 'room.1' });
    client.send(1, GAME, 'bind me');
    await client.waitForFrames(1);
    // A backend publishes to a topic with session id 0; it reaches subscribers on the worker that owns the stream.
    backend.write(backend.streamOf(client.sessionId)!, [{ sessionId: '0', kind: PacketKind.DATA, topic: 'room.1', msgId: 9, serverId: GAME, payload: Buffer.from('to room') }]);
    assert.equal((await client.waitForFrame((f) => f.msgId === 9)).payload.toString(), 'to room');
    client.sendRaw(encodeTopicControl(Control.UNSUBSCRIBE, 'room.1'));
    assert.equal((await client.waitForControl('unsubscribe-result')).code, 0);
    await client.close();
  });

  test('a backend packet that cannot be framed is dropped and counted; the worker survives', async () => {
    const client = await connectClient(urlOf(gateway));
    client.send(1, GAME, 'x');
    await client.waitForFrames(1);
    backend.sendData(client.sessionId, 1, GAME, new Uint8Array(70_000));
    backend.sendData(client.sessionId, 2, GAME, 'after');
    assert.equal((await client.waitForFrame((f) => f.msgId === 2)).payload.toString(), 'after');
    assert.equal(await metric(gateway, 'actorgate_backend_packets_invalid_total'), 1);
    await client.close();
  });
});

function withLength(frame: Uint8Array, length: number): Uint8Array {
  new DataView(frame.buffer, frame.byteOffset).setUint16(0, length, true);
  return frame;
}

describe('protocol violations', () => {
  test('past limits.maxViolations the session is closed with PROTOCOL_VIOLATION and counted', async () => {
    await using gateway = await testGateway({ limits: { maxViolations: 3 } });
    const client = await connectClient(urlOf(gateway));
    const bystander = await connectClient(urlOf(gateway));
    for (let i = 0; i < 4; i++) client.sendRaw(new Uint8Array([i]));
    assert.equal((await client.closed).code, Code.PROTOCOL_VIOLATION);
    assert.equal(client.controls.filter((c) => c.type === 'error').length, 4, 'each violation was answered before the close');
    assert.equal(await metric(gateway, 'actorgate_violation_closes_total'), 1);
    bystander.heartbeat();
    await bystander.waitForControl('heartbeat');
    await bystander.close();
  });
});
