import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { pack } from 'msgpackr';
import { connectClient, packServerId, startMockBackend, waitUntil, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { clientsOnEveryWorker, testGateway } from './helpers.ts';
import { PushClient, httpPush } from './push-client.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';

const PUSHED = packServerId({ serverType: 9 });
const texts = (client: ProtocolClient) => client.frames.filter((f) => f.serverId === PUSHED).map((f) => f.payload.toString());

describe('fan-out across two gateway instances through a real Redis', () => {
  let redis: RedisServer;
  let backend: MockBackend;
  let a: Gateway;
  let b: Gateway;
  let onA: ProtocolClient[][];
  let onB: ProtocolClient[][];
  let pushA: PushClient;
  let publisher: Redis;

  before(async () => {
    redis = await startRedisServer();
    backend = await startMockBackend();
    const common = { routes: [{ serverType: 1, endpoints: [backend.endpoint] }], topics: { allow: ['room.*'] }, redis: { url: redis.url } };
    a = await testGateway({ ...common, name: 'a', nodeId: 1 });
    b = await testGateway({ ...common, name: 'b', nodeId: 2 });
    onA = await clientsOnEveryWorker(a, 2);
    onB = await clientsOnEveryWorker(b, 2);
    pushA = new PushClient(a.pushPort!);
    publisher = new Redis(redis.url);
  });
  after(async () => {
    pushA.close();
    publisher.disconnect();
    await a.close();
    await b.close();
    await backend.close();
    await redis.stop();
  });

  test('a session push to one gateway reaches a session held by the other, once', async () => {
    const target = onB[1]![0]!;
    await waitUntil(async () => (await publisher.pubsub('NUMSUB', 'actorgate:session:2:1'))[1] === 1, 5000, 'B worker 1 on its session channel');
    const summary = await pushA.push([{ sessionId: target.sessionId, msgId: 3, serverId: PUSHED, payload: Buffer.from('cross') }]);
    assert.deepEqual(summary, { accepted: 1, delivered: 0, dropped: 0 }, 'delivered counts this instance; the remote one heard it');
    await target.waitForFrame((f) => f.payload.toString() === 'cross');
    assert.equal([...onA.flat(), ...onB.flat()].filter((c) => texts(c).includes('cross')).length, 1);
  });

  test('a user push reaches the user’s sessions on both instances exactly once', async () => {
    const bob = [onA[0]![0]!, onB[1]![1]!];
    for (const client of bob) {
      client.send(1, packServerId({ serverType: 1 }), 'bind');
      await client.waitForFrame((f) => f.msgId === 1);
      backend.bindUser(client.sessionId, 'bob');
    }
    await waitUntil(async () => (await publisher.pubsub('NUMSUB', 'actorgate:user:bob'))[1] === 2, 5000, 'two workers subscribed to bob');
    const summary = await pushA.push([{ userId: 'bob', msgId: 4, serverId: PUSHED, payload: Buffer.from('hi bob') }]);
    assert.equal(summary.delivered, 1, 'one local session on A');
    for (const client of bob) await client.waitForFrame((f) => f.payload.toString() === 'hi bob');
    await pushA.push([{ userId: 'bob', msgId: 4, serverId: PUSHED, payload: Buffer.from('fence') }]);
    for (const client of bob) await client.waitForFrame((f) => f.payload.toString() === 'fence');
    for (const client of [...onA.flat(), ...onB.flat()]) {
      assert.equal(texts(client).filter((t) => t === 'hi bob').length, bob.includes(client) ? 1 : 0);
    }
  });

  test('topic messages from the push API and from Redis itself reach subscribers on both instances once, in publisher order', async () => {
    const subscribers = [onA[0]![1]!, onA[1]![0]!, onB[0]![0]!, onB[1]![0]!];
    for (const client of subscribers) {
      client.subscribe('room.42');
      assert.equal((await client.waitForControl('subscribe-result')).code, 0);
    }
    await waitUntil(async () => (await publisher.pubsub('NUMSUB', 'actorgate:topic:room.42'))[1] === 4, 5000, 'four workers subscribed');
    // Through HTTP on B.
    const http = await httpPush(b.adminPort!, { topic: 'room.42', msgId: 5, serverId: PUSHED, payload: Buffer.from('via http').toString('base64') });
    assert.equal(http.summary.delivered, 2);
    // Straight to Redis, as a backend would: a plain msgpack envelope, 50 in a row.
    for (let i = 0; i < 50; i++) {
      await publisher.publish('actorgate:topic:room.42', pack({ msgId: 6, serverId: PUSHED, payload: Buffer.from(`r${i}`) }));
    }
    for (const client of subscribers) {
      await waitUntil(() => texts(client).filter((t) => t.startsWith('r')).length === 50, 5000, '50 Redis messages');
      assert.deepEqual(texts(client).filter((t) => /^r\d+$/.test(t)), Array.from({ length: 50 }, (_, i) => `r${i}`));
      assert.equal(texts(client).filter((t) => t === 'via http').length, 1);
    }
    for (const client of [...onA.flat(), ...onB.flat()].filter((c) => !subscribers.includes(c))) assert.ok(!texts(client).includes('via http'));
  });

  test('Redis subscriptions follow demand: a worker leaves a topic channel when its last subscriber does', async () => {
    const client = await connectClient(`ws://127.0.0.1:${b.port}/`);
    client.subscribe('room.solo');
    await client.waitForControl('subscribe-result');
    await waitUntil(async () => (await publisher.pubsub('NUMSUB', 'actorgate:topic:room.solo'))[1] === 1, 5000, 'subscribed');
    await client.close();
    await waitUntil(async () => (await publisher.pubsub('NUMSUB', 'actorgate:topic:room.solo'))[1] === 0, 5000, 'unsubscribed after the last local subscriber left');
  });

  test('after Redis restarts, every worker resubscribes what its sessions need and fan-out resumes', async () => {
    const subscriber = onB[0]![1]!;
    subscriber.subscribe('room.restart');
    await subscriber.waitForControl('subscribe-result');
    await redis.stop();
    redis = await startRedisServer(redis.port);
    publisher.disconnect();
    publisher = new Redis(redis.url);
    await waitUntil(async () => (await publisher.pubsub('NUMSUB', 'actorgate:topic:room.restart'))[1] === 1, 15_000, 'resubscribed after the restart');
    await waitUntil(async () => (await publisher.pubsub('NUMSUB', 'actorgate:session:2:0'))[1] === 1, 15_000, 'session channel back');
    await publisher.publish('actorgate:topic:room.restart', pack({ msgId: 6, serverId: PUSHED, payload: Buffer.from('after restart') }));
    await subscriber.waitForFrame((f) => f.payload.toString() === 'after restart', 5000);
  });

  test('a push for a session on an instance nobody runs is counted as dropped, not an error', async () => {
    const summary = await pushA.push([{ sessionId: ((1n << 40n) | (3n << 20n)).toString(), msgId: 1, serverId: PUSHED }]);
    assert.deepEqual(summary, { accepted: 1, delivered: 0, dropped: 1 });
  });
});

test('instances without a configured nodeId lease distinct node ids from Redis', async () => {
  const redis = await startRedisServer();
  const common = { workers: 1, redis: { url: redis.url } };
  const first = await testGateway({ ...common, name: 'x' });
  const second = await testGateway({ ...common, name: 'y' });
  try {
    assert.notEqual(first.config.nodeId, second.config.nodeId);
    const check = new Redis(redis.url);
    assert.equal(await check.exists(`actorgate:node:${first.config.nodeId}`, `actorgate:node:${second.config.nodeId}`), 2);
    await first.close();
    assert.equal(await check.exists(`actorgate:node:${first.config.nodeId}`), 0, 'released at close');
    check.disconnect();
  } finally {
    await first.close();
    await second.close();
    await redis.stop();
  }
});
