import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { pack } from 'msgpackr';
import { connectClient, packServerId, waitUntil, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import type { RedisStatus } from '../../src/admin/redis-status.ts';
import { metric, testGateway, urlOf } from './helpers.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';
import { startSilentProxy, type SilentProxy } from './silent-proxy.ts';

const PUSHED = packServerId({ serverType: 9 });
const HEALTH_MS = 300;

describe('the Redis self-check: a subscriber that silently stops receiving', () => {
  let redis: RedisServer;
  let proxy: SilentProxy;
  let gateway: Gateway;
  let publisher: Redis;
  let clients: ProtocolClient[];
  const ready = async (): Promise<{ status: number; body: { ready: boolean; redis: RedisStatus } }> => {
    const response = await fetch(`http://127.0.0.1:${gateway.adminPort}/ready`);
    return { status: response.status, body: (await response.json()) as { ready: boolean; redis: RedisStatus } };
  };

  before(async () => {
    redis = await startRedisServer();
    proxy = await startSilentProxy(redis.port);
    // Every gateway connection to Redis goes through the proxy; the test publishes straight to Redis.
    gateway = await testGateway({ nodeId: 5, topics: { allow: ['room.*'] }, redis: { url: proxy.url, healthCheckMs: HEALTH_MS } });
    publisher = new Redis(redis.url);
    clients = [];
    for (let i = 0; i < 8 && new Set(clients.map((c) => c.worker)).size < 2; i++) {
      const client = await connectClient(urlOf(gateway));
      client.subscribe('room.health');
      assert.equal((await client.waitForControl('subscribe-result')).code, 0);
      clients.push(client);
    }
    await waitUntil(async () => Number((await publisher.pubsub('NUMSUB', 'actorgate:topic:room.health'))[1]) === 2, 5000, 'both workers subscribed');
  });
  after(async () => {
    for (const client of clients) await client.close();
    publisher.disconnect();
    await gateway.close();
    await proxy.close();
    await redis.stop();
  });

  test('a healthy path reports ok in /ready and the metrics', async () => {
    await waitUntil(async () => (await ready()).body.redis.health === 'ok', 5000, 'every worker\'s probe back');
    const { status, body } = await ready();
    assert.equal(status, 200);
    assert.equal(body.redis.mode, 'standalone');
    assert.deepEqual(body.redis.workers!.map((w) => w.health), ['ok', 'ok']);
    assert.equal(await metric(gateway, 'actorgate_redis_health'), 0);
    assert.ok((await metric(gateway, 'actorgate_redis_probe_rtt_seconds', { worker: 0 })) > 0);
  });

  test('silenced connections: the missing probe is counted, /ready reports degraded (still ready), the connections are replaced and fan-out resumes', async () => {
    const published = await publisher.publish('actorgate:topic:room.health', pack({ msgId: 1, serverId: PUSHED, payload: Buffer.from('before') }));
    assert.equal(published, 2);
    for (const client of clients) await client.waitForFrame((f) => f.payload.toString() === 'before', 5000);

    proxy.silence();
    // Redis still counts both subscribers: nothing but the probe can tell their connections carry nothing.
    assert.equal(await publisher.publish('actorgate:topic:room.health', pack({ msgId: 1, serverId: PUSHED, payload: Buffer.from('lost') })), 2);
    let degraded: { status: number; body: { ready: boolean; redis: RedisStatus } } | undefined;
    await waitUntil(
      async () => {
        const answer = await ready();
        if (answer.body.redis.health === 'degraded') degraded = answer;
        return degraded;
      },
      5000,
      '/ready to report a degraded Redis',
    );
    assert.equal(degraded!.status, 200, 'a degraded Redis does not make the instance unready');
    assert.equal(degraded!.body.ready, true);
    await waitUntil(async () => (await metric(gateway, 'actorgate_redis_probes_missed_total')) >= 2, 5000, 'both workers to count a missed probe');
    await waitUntil(async () => (await ready()).body.redis.health === 'ok', 5000, 'the replaced connections to carry the probes again');
    const { body } = await ready();
    for (const worker of body.redis.workers!) {
      assert.ok(worker.probesMissed >= 1, `worker ${worker.index} counted its missed probe`);
      assert.ok(worker.reconnects >= 1, `worker ${worker.index} replaced its connections`);
    }
    assert.ok((await metric(gateway, 'actorgate_redis_subscriber_reconnects_total')) >= 2);
    assert.ok(!clients.some((c) => c.frames.some((f) => f.payload.toString() === 'lost')), 'the silenced subscriber had really stopped receiving');

    // The new subscriber connections subscribed the topic again.
    await waitUntil(async () => Number((await publisher.pubsub('NUMSUB', 'actorgate:topic:room.health'))[1]) === 2, 5000, 'resubscribed');
    await publisher.publish('actorgate:topic:room.health', pack({ msgId: 1, serverId: PUSHED, payload: Buffer.from('after') }));
    for (const client of clients) await client.waitForFrame((f) => f.payload.toString() === 'after', 5000);
  });
});
