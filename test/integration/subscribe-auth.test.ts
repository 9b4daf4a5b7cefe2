import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, PacketKind, connectClient, packServerId, startMockBackend, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { PushClient } from './push-client.ts';
import { testGateway, urlOf } from './helpers.ts';

const PUSHED = packServerId({ serverType: 9 });
const AUTH_ROUTE = packServerId({ serverType: 5 });
const texts = (client: ProtocolClient) => client.frames.filter((f) => f.serverId === PUSHED).map((f) => f.payload.toString());

describe('topic authorization by a backend (route authorizeTopics) and server-side subscriptions', () => {
  let auth: MockBackend;
  let gateway: Gateway;
  let pusher: PushClient;
  const clients: ProtocolClient[] = [];
  const connect = async () => {
    const client = await connectClient(urlOf(gateway));
    clients.push(client);
    return client;
  };
  const push = (topic: string, payload: string) => pusher.push([{ topic, msgId: 1, serverId: PUSHED, payload: Buffer.from(payload) }]);

  before(async () => {
    auth = await startMockBackend({ mode: 'record' });
    // private.* is authorized by the backend only: it is deliberately absent from topics.allow.
    gateway = await testGateway({
      routes: [{ serverType: 5, endpoints: [auth.endpoint], authorizeTopics: ['private.*'] }],
      topics: { allow: ['public.*'] },
      limits: { maxSubscriptionsPerSession: 2 },
    });
    pusher = new PushClient(gateway.pushPort!);
  });
  after(async () => {
    pusher.close();
    await Promise.all(clients.map((c) => c.close()));
    await gateway.close();
    await auth.close();
  });

  test('a SUBSCRIBE grant subscribes and a code refuses; topics.allow is not consulted', async () => {
    const client = await connect();
    client.subscribe('private.granted');
    const asked = await auth.waitFor((p) => p.kind === PacketKind.SUBSCRIBE && p.topic === 'private.granted');
    assert.equal(asked.sessionId, client.sessionId);
    assert.equal(asked.serverId, AUTH_ROUTE, 'the SUBSCRIBE names the authorizing route');
    assert.equal(auth.packets.find((p) => p.sessionId === client.sessionId)!.kind, PacketKind.OPEN, 'OPEN before the SUBSCRIBE');
    auth.subscribe(client.sessionId, 'private.granted');
    assert.deepEqual(await client.waitForControl('subscribe-result'), { type: 'subscribe-result', code: 0, topic: 'private.granted' });

    client.subscribe('private.denied');
    await auth.waitFor((p) => p.kind === PacketKind.SUBSCRIBE && p.topic === 'private.denied');
    auth.send(client.sessionId, { kind: PacketKind.SUBSCRIBE, topic: 'private.denied', code: Code.FORBIDDEN });
    assert.deepEqual(await client.waitForControl('subscribe-result'), { type: 'subscribe-result', code: Code.FORBIDDEN, topic: 'private.denied' });

    // The granted topic now carries pushes; the refused one does not.
    const summary = await pusher.push([
      { topic: 'private.granted', msgId: 1, serverId: PUSHED, payload: Buffer.from('yes') },
      { topic: 'private.denied', msgId: 1, serverId: PUSHED, payload: Buffer.from('no') },
    ]);
    assert.deepEqual(summary, { accepted: 2, delivered: 1, dropped: 1 });
    assert.equal((await client.waitForFrame((f) => f.msgId === 1)).payload.toString(), 'yes');
  });

  test('a topic outside the backend-authorized set is decided locally: no SUBSCRIBE goes to the backend', async () => {
    const client = await connect();
    client.subscribe('public.local');
    assert.deepEqual(await client.waitForControl('subscribe-result'), { type: 'subscribe-result', code: 0, topic: 'public.local' });
    client.subscribe('other.local');
    assert.deepEqual(await client.waitForControl('subscribe-result'), { type: 'subscribe-result', code: Code.FORBIDDEN, topic: 'other.local' });
    // The session's packets to the backend keep their order: once this authorized request is in, anything the two
    // local decisions had sent would be in too.
    client.subscribe('private.fence');
    await auth.waitFor((p) => p.kind === PacketKind.SUBSCRIBE && p.sessionId === client.sessionId && p.topic === 'private.fence');
    assert.deepEqual(
      auth.packets.filter((p) => p.sessionId === client.sessionId).map((p) => [p.kind, p.topic]),
      [
        [PacketKind.OPEN, ''],
        [PacketKind.SUBSCRIBE, 'private.fence'],
      ],
      'the backend heard of this session only for the authorized topic',
    );
  });

  test('pending requests count against maxSubscriptionsPerSession', async () => {
    const client = await connect();
    client.subscribe('private.held');
    await auth.waitFor((p) => p.kind === PacketKind.SUBSCRIBE && p.sessionId === client.sessionId && p.topic === 'private.held');
    auth.subscribe(client.sessionId, 'private.held');
    assert.equal((await client.waitForControl('subscribe-result')).code, 0);
    // One held + one pending fills maxSubscriptionsPerSession = 2.
    client.subscribe('private.pending');
    await auth.waitFor((p) => p.kind === PacketKind.SUBSCRIBE && p.sessionId === client.sessionId && p.topic === 'private.pending');
    client.subscribe('public.x');
    assert.deepEqual(await client.waitForControl('subscribe-result'), { type: 'subscribe-result', code: Code.TOO_MANY_SUBSCRIPTIONS, topic: 'public.x' });
  });

  test('a backend subscribes a session server-side, unprompted, and unsubscribes it', async () => {
    const client = await connect();
    // The session must be on the backend's stream; a DATA message puts it there (record mode never answers).
    client.send(1, AUTH_ROUTE, 'hello');
    await auth.waitFor((p) => p.kind === PacketKind.DATA && p.sessionId === client.sessionId);

    // server.news matches neither topics.allow nor authorizeTopics: a server-side subscription bypasses both.
    auth.subscribe(client.sessionId, 'server.news');
    assert.deepEqual(await client.waitForControl('subscribe-result'), { type: 'subscribe-result', code: 0, topic: 'server.news' });
    assert.deepEqual(await push('server.news', 'news 1'), { accepted: 1, delivered: 1, dropped: 0 });
    await client.waitForFrame((f) => f.payload.toString() === 'news 1');

    auth.unsubscribe(client.sessionId, 'server.news');
    // Packets on a stream apply in order: when this DATA reaches the client, the UNSUBSCRIBE has been applied.
    auth.sendData(client.sessionId, 2, PUSHED, 'after unsubscribe');
    await client.waitForFrame((f) => f.payload.toString() === 'after unsubscribe');
    assert.deepEqual(await push('server.news', 'news 2'), { accepted: 1, delivered: 0, dropped: 1 });
    // A session push after the topic push, through the same worker: once it is in, news 2 would have been too.
    assert.equal((await pusher.push([{ sessionId: client.sessionId, msgId: 1, serverId: PUSHED, payload: Buffer.from('fence') }])).delivered, 1);
    await client.waitForFrame((f) => f.payload.toString() === 'fence');
    assert.deepEqual(texts(client), ['news 1', 'after unsubscribe', 'fence']);
  });
});
