import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, packServerId, startMockBackend, waitUntil, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { clientsOnEveryWorker, metric, testGateway } from './helpers.ts';
import { pack } from 'msgpackr';
import { PushClient, asUint64, httpPush, httpPushBytes } from './push-client.ts';

const PUSHED = packServerId({ serverType: 9 });
const isTopicMsg = (t: string) => /^t\d+$/.test(t);
const text = (client: ProtocolClient) => client.frames.filter((f) => f.serverId === PUSHED).map((f) => f.payload.toString());

describe('push API within one instance (no Redis)', () => {
  let backend: MockBackend;
  let gateway: Gateway;
  let pusher: PushClient;
  let clients: ProtocolClient[][];

  before(async () => {
    backend = await startMockBackend();
    gateway = await testGateway({ routes: [{ serverType: 1, endpoints: [backend.endpoint] }], topics: { allow: ['room.*'] } });
    pusher = new PushClient(gateway.pushPort!);
    clients = await clientsOnEveryWorker(gateway, 2);
  });
  after(async () => {
    pusher.close();
    await gateway.close();
    await backend.close();
  });

  test('a session push reaches exactly its session, on whichever worker owns it', async () => {
    const all = clients.flat();
    const summary = await pusher.push(all.map((c) => ({ sessionId: c.sessionId, msgId: 5, serverId: PUSHED, payload: Buffer.from(`to ${c.sessionId}`) })));
    assert.deepEqual(summary, { accepted: all.length, delivered: all.length, dropped: 0 });
    for (const client of all) {
      await client.waitForFrame((f) => f.serverId === PUSHED);
      assert.deepEqual(text(client), [`to ${client.sessionId}`]);
    }
  });

  test('a user push reaches every session bound to the user, on every worker, and no other', async () => {
    const [w0, w1] = clients;
    const alice = [w0![0]!, w1![0]!];
    for (const client of alice) {
      client.send(1, packServerId({ serverType: 1 }), 'bind');
      await client.waitForFrame((f) => f.msgId === 1);
      backend.bindUser(client.sessionId, 'alice');
    }
    // The bind travels on the backend stream; a heartbeat round trip is not enough to order it, so wait on delivery.
    await waitUntil(async () => (await pusher.push([{ userId: 'alice', msgId: 6, serverId: PUSHED, payload: Buffer.from('probe') }])).delivered === 2, 5000, 'alice bound on both workers');
    const summary = await pusher.push([{ userId: 'alice', msgId: 6, serverId: PUSHED, payload: Buffer.from('hi alice') }]);
    assert.deepEqual(summary, { accepted: 1, delivered: 2, dropped: 0 });
    for (const client of alice) {
      await client.waitForFrame((f) => f.payload.toString() === 'hi alice');
    }
    for (const client of [w0![1]!, w1![1]!]) assert.ok(!text(client).includes('hi alice'));
  });

  test('a topic push reaches the subscribers on every worker once; PushStream keeps order per publisher', async () => {
    const subscribers = [clients[0]![1]!, clients[1]![1]!];
    for (const client of subscribers) {
      client.subscribe('room.7');
      assert.equal((await client.waitForControl('subscribe-result')).code, 0);
    }
    const batches = Array.from({ length: 10 }, (_, b) => Array.from({ length: 10 }, (_, i) => ({ topic: 'room.7', msgId: 7, serverId: PUSHED, payload: Buffer.from(`t${b * 10 + i}`) })));
    const summary = await pusher.stream(batches);
    assert.deepEqual(summary, { accepted: 100, delivered: 200, dropped: 0 });
    for (const client of subscribers) {
      await waitUntil(() => text(client).filter(isTopicMsg).length === 100, 5000, '100 topic messages');
      assert.deepEqual(text(client).filter(isTopicMsg), Array.from({ length: 100 }, (_, i) => `t${i}`));
    }
    for (const client of [clients[0]![0]!, clients[1]![0]!]) assert.ok(!text(client).some(isTopicMsg));
  });

  test('HTTP POST /v1/push (JSON and msgpack) reaches the same targets with the same summary', async () => {
    const target = clients[1]![0]!;
    const json = await httpPush(gateway.adminPort!, { pushes: [{ sessionId: target.sessionId, msgId: 8, serverId: PUSHED, payload: Buffer.from('via json').toString('base64') }] });
    assert.equal(json.status, 200);
    assert.deepEqual(json.summary, { accepted: 1, delivered: 1, dropped: 0 });
    const mp = await httpPush(gateway.adminPort!, { sessionId: target.sessionId, msgId: 8, serverId: PUSHED, payload: Buffer.from('via msgpack') }, true);
    assert.deepEqual(mp.summary, { accepted: 1, delivered: 1, dropped: 0 });
    await waitUntil(() => text(target).includes('via json') && text(target).includes('via msgpack'), 5000, 'both HTTP pushes');
    assert.equal((await httpPush(gateway.adminPort!, 'not an object')).status, 400);
  });

  test('an HTTP msgpack batch takes topic, user and uint64 session targets (session ids above 2^53)', async () => {
    const [subscriber, user, target, bystander] = await Promise.all(Array.from({ length: 4 }, () => connectClient(`ws://127.0.0.1:${gateway.port}/`)));
    subscriber!.subscribe('room.mp');
    assert.equal((await subscriber!.waitForControl('subscribe-result')).code, 0);
    user!.send(1, packServerId({ serverType: 1 }), 'bind');
    await user!.waitForFrame((f) => f.msgId === 1);
    backend.bindUser(user!.sessionId, 'mp-user');
    // The stream applies packets in order: once this DATA is through, so is the bind.
    backend.sendData(user!.sessionId, 2, PUSHED, 'bound');
    await user!.waitForFrame((f) => f.payload.toString() === 'bound');

    const id = BigInt(target!.sessionId);
    assert.ok(id > BigInt(Number.MAX_SAFE_INTEGER), 'session ids are above 2^53');
    const push = (fields: object, payload: string) => ({ ...fields, msgId: 8, serverId: PUSHED, payload: Buffer.from(payload) });
    const body = pack({
      pushes: [
        push({ topic: 'room.mp' }, 'mp topic'),
        push({ userId: 'mp-user' }, 'mp user'),
        push({ sessionId: id }, 'mp uint64'),
        // A 64-bit msgId, as some encoders write small numbers, is taken as the number it is.
        { sessionId: target!.sessionId, msgId: 8n, serverId: PUSHED, payload: Buffer.from('mp string') },
      ],
    });
    const uint64 = asUint64(body, [id]);
    assert.notDeepEqual(uint64, Buffer.from(body), 'the session id went out as uint64 (0xcf)');
    const { status, summary } = await httpPushBytes(gateway.adminPort!, uint64, true);
    assert.equal(status, 200);
    assert.deepEqual(summary, { accepted: 4, delivered: 4, dropped: 0 });
    // The int64 form (what msgpackr itself writes for a bigint) works too; the others get a fence through the same
    // workers, after which nothing of the first batch can still be on its way.
    const others = [subscriber!, user!, bystander!];
    const second = await httpPush(gateway.adminPort!, { pushes: [push({ sessionId: id }, 'mp int64'), ...others.map((c) => push({ sessionId: BigInt(c.sessionId) }, 'fence'))] }, true);
    assert.deepEqual(second.summary, { accepted: 4, delivered: 4, dropped: 0 });
    await Promise.all([target!.waitForFrame((f) => f.payload.toString() === 'mp int64'), ...others.map((c) => c.waitForFrame((f) => f.payload.toString() === 'fence'))]);
    assert.deepEqual(text(target!), ['mp uint64', 'mp string', 'mp int64']);
    assert.deepEqual(text(subscriber!), ['mp topic', 'fence']);
    assert.deepEqual(text(user!), ['bound', 'mp user', 'fence']);
    assert.deepEqual(text(bystander!), ['fence']);
    await Promise.all([subscriber, user, target, bystander].map((c) => c!.close()));
  });

  test('malformed HTTP bodies get 400 or 413 and hurt nothing', async () => {
    const bodies = [
      { topic: 1 },
      { userId: 5 },
      { topic: [] },
      { sessionId: true },
      { pushes: [{ topic: 'room.1', payload: 7 }] },
      { pushes: [{ topic: 'room.1', payload: 'not base64!' }] },
      [{ topic: 'room.1', payload: 'aGk=' }],
      { pushes: { topic: 'room.1', payload: 'aGk=' } },
    ];
    for (const body of bodies) {
      assert.equal((await httpPush(gateway.adminPort!, body)).status, 400, JSON.stringify(body));
    }
    const huge = await fetch(`http://127.0.0.1:${gateway.adminPort}/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(5 * 1024 * 1024, 32) });
    assert.equal(huge.status, 413);
    const target = clients[0]![0]!;
    assert.equal((await pusher.push([{ sessionId: target.sessionId, msgId: 9, serverId: PUSHED, payload: Buffer.from('alive') }])).delivered, 1);
  });

  test('unknown targets and invalid pushes are counted, not errors', async () => {
    const summary = await pusher.push([
      { sessionId: '12345', msgId: 1, serverId: PUSHED },
      { userId: 'nobody', msgId: 1, serverId: PUSHED },
      { topic: 'room.empty', msgId: 1, serverId: PUSHED },
      { msgId: 1, serverId: PUSHED },
      { topic: 'x', msgId: 70_000, serverId: PUSHED },
    ]);
    assert.deepEqual(summary, { accepted: 3, delivered: 0, dropped: 5 });
    assert.equal(await metric(gateway, 'actorgate_push_api_total', { outcome: 'invalid' }), 2);
    assert.equal(await metric(gateway, 'actorgate_push_api_total', { outcome: 'no_target' }), 3);
  });
});
