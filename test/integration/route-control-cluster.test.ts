/**
 * The route document on a 3-master Redis Cluster: `actorgate routes set --redis-cluster` reaches a gateway's workers;
 * the master owning the key killed, the table in force keeps serving; back, changes flow again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectClient, packServerId, startMockBackend, waitUntil, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { runActorgate } from './actorgate-cli.ts';
import { testGateway, urlOf } from './helpers.ts';
import { startRedisCluster, type RedisCluster } from './redis-cluster.ts';

const cli = runActorgate;

const payloadsOf = (backend: MockBackend, client: ProtocolClient) => backend.payloadsOf(client.sessionId).map((b) => b.toString());

describe('route tables on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let a: MockBackend;
  let b: MockBackend;
  let gateway: Gateway;
  let dir: string;

  const setRoutes = async (endpoint: string) => {
    const file = join(dir, `doc-${Date.now()}.json`);
    await writeFile(file, JSON.stringify({ routes: [{ serverType: 1, endpoints: [endpoint] }] }));
    return cli(['routes', 'set', file, '--redis-cluster', cluster.seeds.join(','), '--redis-prefix', 'rcc:']);
  };
  const routedTo = async (backend: MockBackend, tag: string) => {
    const client = await connectClient(urlOf(gateway));
    try {
      client.send(1, packServerId({ serverType: 1 }), tag);
      await waitUntil(() => payloadsOf(backend, client).includes(tag), 5000, `${tag} on its backend`);
    } finally {
      await client.close();
    }
  };

  before(async () => {
    cluster = await startRedisCluster();
    [a, b] = await Promise.all([startMockBackend(), startMockBackend()]);
    dir = await mkdtemp(join(tmpdir(), 'actorgate-routes-cluster-'));
    gateway = await testGateway({
      nodeId: 60,
      redis: { cluster: cluster.seeds, prefix: 'rcc:' },
      control: { routes: 'redis', cacheFile: join(dir, 'cache.json') },
      routes: [{ serverType: 1, endpoints: [a.endpoint] }],
    });
  });
  after(async () => {
    await gateway?.close();
    await Promise.all([a?.close(), b?.close()]);
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a change reaches the workers; with the key\'s master down the table in force serves, and changes resume once it is back', async () => {
    const set = await setRoutes(b.endpoint);
    assert.equal(set.code, 0, set.stderr);
    const started = performance.now();
    await waitUntil(async () => ((await (await fetch(`http://127.0.0.1:${gateway.adminPort}/ready`)).json()) as { routes: { version: number } }).routes.version === 1, 1000, 'version 1 in force');
    assert.ok(performance.now() - started < 1000);
    await routedTo(b, 'one');

    const owner = await cluster.ownerOf('rcc:routes');
    await owner.kill();
    await routedTo(b, 'while-down');
    assert.notEqual((await setRoutes(a.endpoint)).code, 0, 'no write while the key\'s master is down');

    await owner.restart();
    await cluster.waitHealthy();
    await waitUntil(async () => (await setRoutes(a.endpoint)).code === 0, 20_000, 'a write once the master is back');
    await routedTo(a, 'back');
  });
});
