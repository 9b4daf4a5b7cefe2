import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, PacketKind, connectClient, packServerId, startMockBackend } from '../../src/testkit/index.ts';
import { PushClient } from './push-client.ts';
import { testGateway, urlOf } from './helpers.ts';

test('a route with authorizeTopics asks its backend: a SUBSCRIBE grant subscribes, a code refuses; topics.allow is not consulted', async () => {
  await using auth = await startMockBackend({ mode: 'record' });
  await using gateway = await testGateway({
    routes: [{ serverType: 5, endpoints: [auth.endpoint], authorizeTopics: ['private.*'] }],
    topics: { allow: ['private.*', 'public.*'] },
    limits: { maxSubscriptionsPerSession: 2 },
  });
  const client = await connectClient(urlOf(gateway));

  client.subscribe('private.granted');
  const asked = await auth.waitFor((p) => p.kind === PacketKind.SUBSCRIBE && p.topic === 'private.granted');
  assert.equal(asked.sessionId, client.sessionId);
  assert.equal(auth.packets.find((p) => p.sessionId === client.sessionId)!.kind, PacketKind.OPEN, 'OPEN before the SUBSCRIBE');
  auth.subscribe(client.sessionId, 'private.granted');
  assert.deepEqual(await client.waitForControl('subscribe-result'), { type: 'subscribe-result', code: 0, topic: 'private.granted' });

  client.subscribe('private.denied');
  await auth.waitFor((p) => p.kind === PacketKind.SUBSCRIBE && p.topic === 'private.denied');
  auth.send(client.sessionId, { kind: PacketKind.SUBSCRIBE, topic: 'private.denied', code: Code.FORBIDDEN });
  assert.deepEqual(await client.waitForControl('subscribe-result'), { type: 'subscribe-result', code: Code.FORBIDDEN, topic: 'private.denied' });

  // The granted topic now carries pushes; the refused one does not.
  const pusher = new PushClient(gateway.pushPort!);
  const summary = await pusher.push([
    { topic: 'private.granted', msgId: 1, serverId: packServerId({ serverType: 9 }), payload: Buffer.from('yes') },
    { topic: 'private.denied', msgId: 1, serverId: packServerId({ serverType: 9 }), payload: Buffer.from('no') },
  ]);
  pusher.close();
  assert.deepEqual(summary, { accepted: 2, delivered: 1, dropped: 1 });
  assert.equal((await client.waitForFrame((f) => f.msgId === 1)).payload.toString(), 'yes');

  // Pending requests count against the limit: one held + one pending fills maxSubscriptionsPerSession = 2.
  client.subscribe('private.pending');
  await auth.waitFor((p) => p.kind === PacketKind.SUBSCRIBE && p.topic === 'private.pending');
  client.subscribe('public.x');
  assert.equal((await client.waitForControl('subscribe-result')).code, Code.TOO_MANY_SUBSCRIPTIONS);
  await client.close();
});
