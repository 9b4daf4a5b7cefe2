/**
 * Routes and realms from Redis (control.routes "redis"): `actorgate routes set` reaching every worker of two real
 * gateways, stickiness and per-session order across a change, release and rebinding when an endpoint leaves, an
 * invalid document refused, and the cached table served by a gateway restarted while Redis is down.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Code, connectClient, injectWorkerFault, packServerId, startMockBackend, waitUntil, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import type { GatewayOptions } from '../../src/core/options.ts';
import { runActorgate } from './actorgate-cli.ts';
import { clientsOnEveryWorker, metric, testGateway, urlOf } from './helpers.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';

const cli = runActorgate;

const payloadsOf = (backend: MockBackend, client: ProtocolClient) => backend.payloadsOf(client.sessionId).map((b) => b.toString());

async function readyBody(gateway: Gateway): Promise<{ ready: boolean; routes: { source: string; version: number } }> {
  return (await fetch(`http://127.0.0.1:${gateway.adminPort}/ready`)).json() as never;
}

describe('route tables in Redis', () => {
  let redis: RedisServer;
  let a: MockBackend;
  let b: MockBackend;
  let dir: string;
  let gateways: Gateway[] = [];
  let options: (i: number) => GatewayOptions;

  const setRoutes = async (doc: unknown) => {
    const file = join(dir, `doc-${Date.now()}-${Math.random()}.json`);
    await writeFile(file, JSON.stringify(doc));
    return cli(['routes', 'set', file, '--redis', redis.url, '--redis-prefix', 'rc:']);
  };

  before(async () => {
    redis = await startRedisServer();
    [a, b] = await Promise.all([startMockBackend(), startMockBackend()]);
    dir = await mkdtemp(join(tmpdir(), 'actorgate-routes-'));
    options = (i) => ({
      // A node id of its own: without one, a gateway leases one from Redis at start, and could not start without it.
      nodeId: 40 + i,
      redis: { url: redis.url, prefix: 'rc:' },
      control: { routes: 'redis', cacheFile: join(dir, `cache-${i}.json`), refreshMs: 60_000 },
      // The config file's routes: served until Redis has a document.
      routes: [{ serverType: 1, endpoints: [a.endpoint] }],
      faultInjection: true,
    });
    gateways = await Promise.all([testGateway(options(0)), testGateway(options(1))]);
  });
  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all([a.close(), b.close()]);
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('with no document yet, the config file routes serve; /ready says so', async () => {
    const body = await readyBody(gateways[0]!);
    assert.equal(body.routes.source, 'config');
    const client = await connectClient(urlOf(gateways[0]!));
    client.send(1, packServerId({ serverType: 1 }), 'cfg');
    await client.waitForFrames(1);
    assert.deepEqual(payloadsOf(a, client), ['cfg']);
    await client.close();
  });

  test('routes set reaches every worker of both gateways within a second; sticky sessions keep their order; nobody is disconnected', async () => {
    const clients = (await Promise.all(gateways.map((g) => clientsOnEveryWorker(g, 1)))).flat(2);
    // Every session binds to A under serverType 1 and keeps sending through the change.
    let seq = 0;
    const send = () => {
      for (const client of clients) client.send(seq & 0xffff, packServerId({ serverType: 1 }), `m${seq}`);
      seq++;
    };
    send();
    await Promise.all(clients.map((c) => c.waitForFrames(1)));
    const ticker = setInterval(send, 5);

    const started = performance.now();
    const set = await setRoutes({
      routes: [
        { serverType: 1, endpoints: [a.endpoint, b.endpoint] },
        { serverType: 2, endpoints: [b.endpoint] },
        { serverType: 3, realm: true },
      ],
      realms: { 7: [b.endpoint] },
    });
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /version 1 written/);
    const published = performance.now();
    // Every worker of both gateways routes the new rule: each session's serverType 2 message reaches B.
    await Promise.all(
      clients.map(async (client) => {
        while (!payloadsOf(b, client).includes('st2')) {
          client.send(0, packServerId({ serverType: 2 }), 'st2');
          await new Promise((r) => setTimeout(r, 20));
          assert.ok(performance.now() - published < 1000, `worker ${client.worker} applied the table within a second`);
        }
      }),
    );
    const reachedAllMs = performance.now() - started;
    clearInterval(ticker);
    const last = seq;
    await Promise.all(clients.map((c) => waitUntil(() => payloadsOf(a, c).length >= last, 5000, 'the last messages')));
    for (const client of clients) {
      // Sticky: A is still in the rule, so every serverType 1 message stayed on A, in the order sent.
      assert.deepEqual(payloadsOf(a, client), Array.from({ length: last }, (_, i) => `m${i}`));
      assert.ok(!payloadsOf(b, client).some((p) => p.startsWith('m')), 'no serverType 1 message went to B');
      assert.equal(client.closeInfo, undefined, 'still connected');
    }
    // Realms: world 7's set is B; a world no realm names (and no fallback) has no route.
    const realm = clients[0]!;
    realm.send(9, packServerId({ serverType: 3, worldId: 7 }), 'realm7');
    await waitUntil(() => payloadsOf(b, realm).includes('realm7'), 5000, 'the realm message on B');
    realm.send(10, packServerId({ serverType: 3, worldId: 8 }), 'realm8');
    assert.equal((await realm.waitForControl('error')).code, Code.NO_ROUTE);
    for (const g of gateways) assert.deepEqual((await readyBody(g)).routes, { source: 'redis', version: 1, redisReachable: true });
    assert.equal(await metric(gateways[0]!, 'actorgate_routes_version'), 1);
    const get = await cli(['routes', 'get', '--redis', redis.url, '--redis-prefix', 'rc:']);
    assert.equal(get.code, 0, get.stderr);
    assert.equal((JSON.parse(get.stdout) as { version: number }).version, 1);
    await Promise.all(clients.map((c) => c.close()));
    assert.ok(reachedAllMs < 1000, `reached all workers in ${reachedAllMs.toFixed(0)} ms`);
  });

  test('an endpoint removed from the table releases its sessions (BACKEND_FAILOVER), which rebind on their next message; its streams close', async () => {
    const clients = (await clientsOnEveryWorker(gateways[0]!, 2)).flat();
    for (const client of clients) client.send(1, packServerId({ serverType: 2 }), 'before');
    await Promise.all(clients.map((c) => waitUntil(() => payloadsOf(b, c).includes('before'), 5000, 'bound to B')));
    // B leaves every rule: serverType 2 goes to A now.
    const set = await setRoutes({ routes: [{ serverType: 1, endpoints: [a.endpoint] }, { serverType: 2, endpoints: [a.endpoint] }] });
    assert.equal(set.code, 0, set.stderr);
    for (const client of clients) {
      const released = await client.waitForControl('error');
      assert.equal(released.code, Code.BACKEND_FAILOVER);
      client.send(2, packServerId({ serverType: 2 }), 'after');
    }
    await Promise.all(clients.map((c) => waitUntil(() => payloadsOf(a, c).includes('after'), 5000, 'rebound to A')));
    for (const client of clients) assert.equal(client.closeInfo, undefined, 'still connected');
    await waitUntil(() => b.listStreams().filter((s) => s.gateName.startsWith('it/')).length === 0, 5000, "B's streams to close");
    await Promise.all(clients.map((c) => c.close()));
  });

  test('an invalid document is refused, naming the field; the old table keeps serving', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ routes: [{ serverType: 1, endpoints: ['no-port'] }] }));
    const validate = await cli(['routes', 'validate', bad]);
    assert.equal(validate.code, 2);
    assert.match(validate.stderr, /routes\[0\]\.endpoints\[0\]/);
    assert.equal((await cli(['routes', 'set', bad, '--redis', redis.url, '--redis-prefix', 'rc:'])).code, 2);
    // Written behind the CLI's back, and announced.
    const client = new Redis(redis.url);
    await client.set('rc:routes', JSON.stringify({ version: 99, routes: [{ serverType: 1, endpoints: [] }] }));
    await client.publish('rc:routes:changed', '99');
    client.disconnect();
    for (const g of gateways) {
      await waitUntil(async () => (await metric(g, 'actorgate_routes_refused_total', { field: 'routes[].endpoints' })) >= 1, 5000, 'the refusal');
      assert.equal((await readyBody(g)).routes.version, 2);
    }
    const session = await connectClient(urlOf(gateways[1]!));
    session.send(1, packServerId({ serverType: 2 }), 'still');
    await waitUntil(() => payloadsOf(a, session).includes('still'), 5000, 'routed by the old table');
    await session.close();
  });

  test('a worker restarted after a change serves the table in force, not the config file routes', async () => {
    const gateway = gateways[1]!;
    const [victim] = (await clientsOnEveryWorker(gateway, 1))[0]!;
    const restarts = gateway.workers()[0]!.restarts;
    injectWorkerFault(gateway, 0);
    // The fault is armed by a message to the worker, which may arrive after a client message sent at once: send until
    // one of them hits it.
    const hitting = setInterval(() => victim!.send(1, packServerId({ serverType: 1 }), 'boom'), 20);
    await victim!.closed;
    clearInterval(hitting);
    await waitUntil(() => gateway.workers()[0]!.restarts > restarts && gateway.workers()[0]!.state === 'running', 10_000, 'worker 0 restarted');
    const [fresh] = (await clientsOnEveryWorker(gateway, 1))[0]!;
    // serverType 2 is A in the table in force (version 2); the config file has no serverType 2 rule.
    fresh!.send(2, packServerId({ serverType: 2 }), 'restarted');
    await waitUntil(() => payloadsOf(a, fresh!).includes('restarted'), 5000, 'routed by the table in force');
    await fresh!.close();
  });

  test('Redis killed and a gateway restarted meanwhile: it serves the cached table and says so', async () => {
    const good = await setRoutes({ routes: [{ serverType: 4, endpoints: [b.endpoint] }] });
    assert.equal(good.code, 0, good.stderr);
    await waitUntil(async () => (await readyBody(gateways[0]!)).routes.version === 100, 5000, 'version 100 in force');
    await redis.stop();
    await gateways[0]!.close();
    gateways[0] = await testGateway(options(0));
    const body = await readyBody(gateways[0]);
    assert.equal(body.ready, true);
    assert.deepEqual(body.routes, { source: 'cache', version: 100, redisReachable: false });
    assert.equal(await metric(gateways[0], 'actorgate_routes_source', { source: 'cache' }), 1);
    const client = await connectClient(urlOf(gateways[0]));
    client.send(1, packServerId({ serverType: 4 }), 'cached');
    await waitUntil(() => payloadsOf(b, client).includes('cached'), 5000, 'routed by the cached table');
    await client.close();
  });
});
