/** The registry and the push client on a 3-master Redis Cluster (entries spread over the shards). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.ts';
import { connectPushClient } from '../../src/push-client/index.ts';
import type { InstanceEntry } from '../../src/control/registry-entry.ts';
import { connectClient, packServerId, waitUntil } from '../../src/testkit/index.ts';
import { startRedisCluster } from './redis-cluster.ts';
import { testGateway, urlOf } from './helpers.ts';

const SERVER_ID = packServerId({ serverType: 9 });

test('on a Redis Cluster, instances are listed from every master and the push client reaches sessions directly and through sharded channels', async () => {
  const cluster = await startRedisCluster();
  try {
    const common = { workers: 1, redis: { cluster: cluster.seeds }, topics: { allow: ['room.*'] } };
    // Node ids 1–3: their keys actorgate:instance:<id> fall in different slots.
    await using a = await testGateway({ ...common, name: 'ca', nodeId: 1 });
    await using b = await testGateway({ ...common, name: 'cb', nodeId: 2 });
    await using c = await testGateway({ ...common, name: 'cc', nodeId: 3 });
    let stdout = '';
    const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => {} }, signals: { on() {}, off() {} }, exit() {} };
    assert.equal(await main(['instances', '--redis-cluster', cluster.seeds.join(','), '--json'], {}, io), 0);
    assert.deepEqual((JSON.parse(stdout) as InstanceEntry[]).map((e) => e.name), ['ca', 'cb', 'cc']);

    const clients = await Promise.all([a, b, c].map((g) => connectClient(urlOf(g))));
    for (const client of clients) {
      client.subscribe('room.1');
      assert.equal((await client.waitForControl('subscribe-result')).code, 0);
    }
    await using direct = await connectPushClient({ redis: { cluster: cluster.seeds } });
    await waitUntil(() => direct.stats().gateways.filter((g) => g.state === 'open').length === 3, 10_000, 'three streams');
    clients.forEach((client, i) => direct.pushToSession(client.sessionId, 1, SERVER_ID, Buffer.from(`s${i}`)));
    for (const [i, client] of clients.entries()) assert.equal((await client.waitForFrame((f) => f.msgId === 1)).payload.toString(), `s${i}`);
    assert.equal(direct.stats().viaRedis, 0);

    await using viaRedis = await connectPushClient({ redis: { cluster: cluster.seeds }, fanout: 'redis', sessions: 'redis' });
    viaRedis.pushToTopic('room.1', 2, SERVER_ID, Buffer.from('t'));
    clients.forEach((client) => viaRedis.pushToSession(client.sessionId, 3, SERVER_ID, Buffer.from('r')));
    for (const client of clients) {
      await client.waitForFrame((f) => f.msgId === 2);
      await client.waitForFrame((f) => f.msgId === 3);
    }
    assert.equal(viaRedis.stats().viaRedis, 4);
    assert.equal(viaRedis.stats().dropped['redis-failed'], 0);
    for (const client of clients) client.terminate();
  } finally {
    await cluster.stop();
  }
});
