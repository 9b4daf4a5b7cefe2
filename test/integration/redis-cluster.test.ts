import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, Redis } from 'ioredis';
import { pack } from 'msgpackr';
import { connectClient, packServerId, startMockBackend, waitUntil, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import type { RedisStatus } from '../../src/admin/redis-status.ts';
import { metric, testGateway, urlOf } from './helpers.ts';
import { PushClient } from './push-client.ts';
import { namesPerNode, startRedisCluster, type RedisCluster } from './redis-cluster.ts';

const PUSHED = packServerId({ serverType: 9 });
const PREFIX = 'actorgate:';

describe('fan-out through a real 3-master Redis Cluster (sharded pub/sub)', () => {
  let cluster: RedisCluster;
  let backend: MockBackend;
  let a: Gateway;
  let b: Gateway;
  let pushA: PushClient;
  /** One topic per master, in node order. */
  let topics: string[];
  /** On each gateway, one client subscribed to every topic. */
  const subscribers = new Map<Gateway, ProtocolClient>();
  const node = (port: number) => new Redis(port, '127.0.0.1', { lazyConnect: false, maxRetriesPerRequest: 0, retryStrategy: () => null }).on('error', () => {});
  const shardSubscribers = async (channel: string): Promise<number> => {
    const owner = node((await cluster.ownerOf(channel)).port);
    try {
      return Number(((await owner.call('PUBSUB', 'SHARDNUMSUB', channel)) as unknown[])[1]);
    } finally {
      owner.disconnect();
    }
  };
  const received = (client: ProtocolClient, text: string) => client.frames.some((f) => f.serverId === PUSHED && f.payload.toString() === text);
  const redisReady = async (gateway: Gateway): Promise<RedisStatus> =>
    ((await (await fetch(`http://127.0.0.1:${gateway.adminPort}/ready`)).json()) as { redis: RedisStatus }).redis;
  const push = (topic: string, text: string) => pushA.push([{ topic, msgId: 1, serverId: PUSHED, payload: Buffer.from(text) }]);

  before(async () => {
    cluster = await startRedisCluster();
    backend = await startMockBackend();
    topics = (await namesPerNode(cluster, (i) => `${PREFIX}topic:room.${i}`)).map((channel) => channel.slice(`${PREFIX}topic:`.length));
    // No nodeId: each instance leases one from the cluster.
    const common = { routes: [{ serverType: 1, endpoints: [backend.endpoint] }], topics: { allow: ['room.*'] }, redis: { cluster: cluster.seeds, healthCheckMs: 500 } };
    a = await testGateway({ ...common, name: 'a' });
    b = await testGateway({ ...common, name: 'b' });
    pushA = new PushClient(a.pushPort!);
    for (const gateway of [a, b]) {
      const client = await connectClient(urlOf(gateway));
      for (const topic of topics) {
        client.subscribe(topic);
        assert.equal((await client.waitForControl('subscribe-result')).code, 0);
      }
      subscribers.set(gateway, client);
    }
    for (const topic of topics) await waitUntil(async () => (await shardSubscribers(`${PREFIX}topic:${topic}`)) === 2, 10_000, `both instances on ${topic}'s shard`);
  });
  after(async () => {
    pushA.close();
    for (const client of subscribers.values()) await client.close();
    await a.close();
    await b.close();
    await backend.close();
    await cluster.stop();
  });

  test('every worker\'s probe comes back through its sharded session channel', async () => {
    for (const gateway of [a, b]) {
      await waitUntil(async () => (await redisReady(gateway)).health === 'ok', 10_000, 'every worker ok');
      assert.equal((await redisReady(gateway)).mode, 'cluster');
    }
  });

  test('instances lease distinct node ids from the cluster', async () => {
    assert.notEqual(a.config.nodeId, b.config.nodeId);
    const check = new Cluster(cluster.seeds.map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) })));
    try {
      assert.equal(await check.exists(`${PREFIX}node:${a.config.nodeId}`), 1);
      assert.equal(await check.exists(`${PREFIX}node:${b.config.nodeId}`), 1);
    } finally {
      check.disconnect();
    }
  });

  test('a topic push reaches both instances, and each channel lives only on the shard that owns it', async () => {
    for (const topic of topics) {
      const summary = await push(topic, `hello ${topic}`);
      assert.equal(summary.delivered, 1, 'one local subscriber on the instance pushed to');
    }
    for (const topic of topics) await subscribers.get(b)!.waitForFrame((f) => f.payload.toString() === `hello ${topic}`, 5000);
    // Sharded channels: each master lists only its own, and a classic PUBLISH reaches none of the gateways.
    for (const [i, clusterNode] of cluster.nodes.entries()) {
      const redis = node(clusterNode.port);
      try {
        const channels = ((await redis.call('PUBSUB', 'SHARDCHANNELS', `${PREFIX}topic:*`)) as string[]).sort();
        assert.deepEqual(channels, [`${PREFIX}topic:${topics[i]}`]);
        assert.equal(await redis.publish(`${PREFIX}topic:${topics[i]}`, pack({ msgId: 1, serverId: PUSHED, payload: Buffer.from('classic') })), 0);
      } finally {
        redis.disconnect();
      }
    }
  });

  test('a session push for another instance travels on that worker\'s sharded session channel', async () => {
    const target = subscribers.get(b)!;
    const summary = await pushA.push([{ sessionId: target.sessionId, msgId: 2, serverId: PUSHED, payload: Buffer.from('to b') }]);
    assert.equal(summary.dropped, 0);
    await target.waitForFrame((f) => f.payload.toString() === 'to b', 5000);
  });

  test('a resharding that moves a topic\'s slot to another master: the workers follow and fan-out resumes', async () => {
    const channel = `${PREFIX}topic:${topics[1]}`;
    const [n0, from, to] = cluster.nodes.map((n) => node(n.port));
    try {
      const slot = Number(await from!.call('CLUSTER', 'KEYSLOT', channel));
      const fromId = String(await from!.call('CLUSTER', 'MYID'));
      const toId = String(await to!.call('CLUSTER', 'MYID'));
      await to!.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId);
      await from!.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
      for (const redis of [to!, from!, n0!]) await redis.call('CLUSTER', 'SETSLOT', slot, 'NODE', toId);
      assert.equal((await cluster.ownerOf(channel)).port, cluster.nodes[2]!.port);
      // The old owner drops its subscribers of that slot (SUNSUBSCRIBE); the workers subscribe on the new owner.
      await waitUntil(async () => (await shardSubscribers(channel)) === 2, 15_000, 'both instances subscribed on the new owner');
      await push(topics[1]!, 'after resharding');
      await subscribers.get(b)!.waitForFrame((f) => f.payload.toString() === 'after resharding', 5000);
    } finally {
      for (const redis of [n0, from, to]) redis!.disconnect();
    }
  });

  // Kills a master: keep it last in this suite.
  test('a killed master loses only its shard\'s pushes (counted); once it is back its channels deliver again', async () => {
    const victim = cluster.nodes[0]!;
    const [lost, ...kept] = topics;
    await victim.kill();
    const failedBefore = await metric(a, 'actorgate_push_api_total', { outcome: 'redis_failed' });
    for (const topic of topics) await push(topic, `during ${topic}`);
    for (const topic of kept) await subscribers.get(b)!.waitForFrame((f) => f.payload.toString() === `during ${topic}`, 5000);
    assert.equal(await metric(a, 'actorgate_push_api_total', { outcome: 'redis_failed' }), failedBefore + 1, 'the push to the dead shard failed and was counted');
    assert.ok(!received(subscribers.get(b)!, `during ${lost}`));
    assert.ok(received(subscribers.get(a)!, `during ${lost}`), 'delivered on the instance it was pushed to');

    await victim.restart();
    await cluster.waitHealthy();
    // ioredis's sharded subscriber for that master is made again and subscribes its channels once the slots answer.
    let n = 0;
    await waitUntil(
      async () => {
        await push(lost!, `after ${++n}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        return subscribers.get(b)!.frames.some((f) => f.payload.toString().startsWith('after '));
      },
      20_000,
      'pushes to the restarted master\'s channel to reach the other instance',
    );
    assert.equal(await shardSubscribers(`${PREFIX}topic:${lost}`), 2);
    // Probes refused while their shard was down reported those workers disconnected; all are back to ok.
    for (const gateway of [a, b]) await waitUntil(async () => (await redisReady(gateway)).health === 'ok', 20_000, 'every worker ok again');
  });
});
