/**
 * The route document on a 3-master Redis Cluster: `actorgate routes set --redis-cluster` reaches every worker of two gateways;
 * the master owning the key killed, the table in force keeps serving; back, changes flow again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packServerId, startMockBackend, waitUntil, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { runActorgate } from './actorgate-cli.ts';
import { clientsOnEveryWorker, testGateway } from './helpers.ts';
import { startRedisCluster, type RedisCluster } from './redis-cluster.ts';

const cli = runActorgate;

const payloadsOf = (backend: MockBackend, client: ProtocolClient) => backend.payloadsOf(client.sessionId).map((b) => b.toString());

describe('route tables on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let a: MockBackend;
  let b: MockBackend;
  /** Two gateways on one cluster: a change must reach every worker of both. */
  const gateways: Gateway[] = [];
  let dir: string;

  const setRoutes = async (endpoint: string) => {
    const file = join(dir, `doc-${Date.now()}.json`);
    await writeFile(file, JSON.stringify({ routes: [{ serverType: 1, endpoints: [endpoint] }] }));
    return cli(['routes', 'set', file, '--redis-cluster', cluster.seeds.join(','), '--redis-prefix', 'rcc:']);
  };
  /** A message from a session on every worker of both gateways reaches `backend`. */
  const routedTo = async (backend: MockBackend, tag: string) => {
    for (const gateway of gateways) {
      const clients = (await clientsOnEveryWorker(gateway, 1)).flat();
      try {
        for (const client of clients) client.send(1, packServerId({ serverType: 1 }), tag);
        for (const client of clients) await waitUntil(() => payloadsOf(backend, client).includes(tag), 5000, `${tag} on its backend`);
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    }
  };
  const versionOf = async (gateway: Gateway) => ((await (await fetch(`http://127.0.0.1:${gateway.adminPort}/ready`)).json()) as { routes: { version: number } }).routes.version;

  before(async () => {
    cluster = await startRedisCluster();
    [a, b] = await Promise.all([startMockBackend(), startMockBackend()]);
    dir = await mkdtemp(join(tmpdir(), 'actorgate-routes-cluster-'));
    for (const nodeId of [60, 61]) {
      gateways.push(
        await testGateway({
          nodeId,
          redis: { cluster: cluster.seeds, prefix: 'rcc:' },
          control: { routes: 'redis', cacheFile: join(dir, `cache-${nodeId}.json`) },
          routes: [{ serverType: 1, endpoints: [a.endpoint] }],
        }),
      );
    }
  });
  after(async () => {
    for (const gateway of gateways) await gateway.close();
    await Promise.all([a?.close(), b?.close()]);
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a change reaches every worker of two gateways within a second; with the key\'s master down the table in force serves, and changes resume once it is back', async () => {
    const set = await setRoutes(b.endpoint);
    assert.equal(set.code, 0, set.stderr);
    const started = performance.now();
    await waitUntil(async () => (await Promise.all(gateways.map(versionOf))).every((v) => v === 1), 1000, 'version 1 in force on both gateways');
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
