/**
 * Per-user and per-route limits (docs/PROTOCOL.md §7, §12), end to end: real gateways with 2 workers, tokens signed
 * here (HS256), real grpc-js echo backends, real redis-server processes, and for the cluster case two gateway
 * instances in this process plus one `actorgate start` process that is killed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { Gateway } from '../../src/gateway.ts';
import type { GatewayOptions } from '../../src/core/options.ts';
import { Code, connectClient, injectWorkerFault, packServerId, startMockBackend, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import { makeKey, sign } from '../fixtures/auth-keys.ts';
import { metric, testGateway, urlOf, waitUntil } from './helpers.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';
import { attempt } from './upgrade-attempt.ts';

const FREE = packServerId({ serverType: 1 });
const LIMITED = packServerId({ serverType: 2 });
const hmac = makeKey('HS256', 'hs-users');
const auth: GatewayOptions['auth'] = { required: false, jwt: { keys: [{ jwk: hmac.jwk, algorithms: ['HS256'] }] } };
const bearer = async (sub: string) => ({ Authorization: `Bearer ${await sign(hmac, { sub })}` });

const errors = (client: ProtocolClient) => client.controls.flatMap((c) => (c.type === 'error' ? [c] : []));
const p99 = (times: number[]) => [...times].sort((a, b) => a - b)[Math.ceil(times.length * 0.99) - 1]!;

describe('per-user message rates and per-route rates', () => {
  const USER_RATE = 100;
  let backend: MockBackend;
  let gateway: Gateway;
  const clients: ProtocolClient[] = [];
  const connect = async (headers: Record<string, string> = {}, path = '/') => {
    const client = await connectClient(urlOf(gateway, path), { headers });
    clients.push(client);
    return client;
  };

  before(async () => {
    backend = await startMockBackend();
    gateway = await testGateway({
      routes: [
        { serverType: 1, endpoints: [backend.endpoint] },
        { serverType: 2, endpoints: [backend.endpoint], rateLimit: { messagesPerSecond: 20, messageBurst: 20 } },
      ],
      auth,
      // The session's own rates off: what refuses here is the user's bucket or the route's.
      limits: { messagesPerSecond: 0, bytesPerSecond: 0, userMessagesPerSecond: USER_RATE, userMessageBurst: USER_RATE, rateLimitCloseAfterMs: 1500 },
    });
  });

  after(async () => {
    for (const client of clients) await client.close();
    await gateway.close();
    await backend.close();
  });

  test('one user\'s sessions on two workers share one bucket; another user and anonymous sessions are not held back', async () => {
    const alice: ProtocolClient[] = [];
    for (let i = 0; i < 40 && new Set(alice.map((c) => c.worker)).size < 2; i++) {
      const client = await connect(await bearer('alice'));
      if (!alice.some((c) => c.worker === client.worker)) alice.push(client);
    }
    assert.equal(new Set(alice.map((c) => c.worker)).size, 2, 'alice has a session on each worker');
    const bob = await connect(await bearer('bob'));
    const anonymous = await connect();
    // 200 messages of alice's, interleaved between her two sessions, against a bucket of 100.
    for (let round = 0; round < 10; round++) for (const client of alice) for (let i = 0; i < 10; i++) client.send(round * 10 + i, FREE, 'a');
    for (let i = 0; i < 50; i++) bob.send(i, FREE, 'b');
    for (let i = 0; i < 50; i++) anonymous.send(i, FREE, 'n');
    await waitUntil(() => alice.every((c) => c.frames.length + errors(c).length === 100), 10_000, 'an answer to each of alice\'s messages');
    const echoed = alice.reduce((sum, c) => sum + c.frames.length, 0);
    // Each session alone sent no more than the bucket holds: every refusal comes from sharing it. What passed is the
    // burst and what the bucket refilled while the messages were arriving (which worker ran first is the kernel's choice).
    assert.ok(echoed >= USER_RATE && echoed < 150, `${echoed} of alice's 200 messages passed`);
    for (const client of alice) assert.ok(errors(client).every((e) => e.code === Code.RATE_LIMITED));
    assert.equal((await bob.waitForFrames(50)).length, 50);
    assert.equal((await anonymous.waitForFrames(50)).length, 50);
    assert.deepEqual([errors(bob).length, errors(anonymous).length], [0, 0]);
    assert.equal(await metric(gateway, 'actorgate_client_messages_refused_total', { reason: 'user_rate_limited' }), 200 - echoed);
    assert.equal(await metric(gateway, 'actorgate_client_messages_refused_total', { reason: 'rate_limited' }), 0);
  });

  test('a rule\'s rateLimit refuses past its bucket on that route while another route passes everything', async () => {
    const client = await connect();
    for (let i = 0; i < 50; i++) client.send(i, LIMITED, 'l');
    for (let i = 0; i < 50; i++) client.send(100 + i, FREE, 'f');
    await waitUntil(() => client.frames.length + errors(client).length === 100, 10_000, 'an answer to each message');
    const limited = client.frames.filter((f) => f.serverId === LIMITED).length;
    assert.equal(client.frames.filter((f) => f.serverId === FREE).length, 50, 'the other route: all through');
    assert.ok(limited >= 20 && limited < 30, `${limited} of 50 through the limited route`);
    assert.ok(errors(client).every((e) => e.code === Code.RATE_LIMITED && e.refServerId === LIMITED));
    assert.ok((await metric(gateway, 'actorgate_client_messages_refused_total', { reason: 'route_rate_limited' })) >= 20);
    assert.equal(client.closeInfo, undefined);
  });

  test('a user flooding is refused, then closed RATE_LIMIT_EXCEEDED; another client\'s echoes on the same workers keep their time', { timeout: 30_000 }, async () => {
    // Anonymous: a user's sessions would share a bucket these round trips alone exceed.
    const good = await connect();
    const roundTrips = async (count: number) => {
      const times: number[] = [];
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        good.send(i, FREE, 'rt');
        await good.nextFrame();
        times.push(performance.now() - started);
      }
      return times;
    };
    const quiet = await roundTrips(100);
    const url = `${urlOf(gateway)}?access_token=${await sign(hmac, { sub: 'dave' })}`;
    const flooder = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../fixtures/flooder.ts', import.meta.url)), url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    flooder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitUntil(() => out.includes('"limited"'), 20_000, 'the flooder to be refused');
    const loaded = await roundTrips(100);
    await waitUntil(() => out.includes('closeCode'), 20_000, 'the flooder to be closed').catch((err: Error) => {
      flooder.kill();
      throw new Error(`${err.message}; the flooder printed: ${out}`);
    });
    await once(flooder, 'exit');
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as { closeCode: number; rateLimited: number; others: number };
    assert.equal(result.closeCode, Code.RATE_LIMIT_EXCEEDED, 'user refusals count toward the close');
    assert.ok(result.rateLimited > 0 && result.others === 0);
    const figures = `p99 quiet ${p99(quiet).toFixed(1)} ms, while flooded ${p99(loaded).toFixed(1)} ms`;
    if (process.env.ACTORGATE_TEST_VERBOSE) console.log(figures);
    // 50 ms as in rate-limits.test.ts, unless the machine itself (other processes) already made the quiet run slower.
    assert.ok(p99(loaded) < Math.max(50, 3 * p99(quiet)), `the other client's round trips: ${figures}`);
    assert.equal(errors(good).length, 0);
    assert.equal(good.closeInfo, undefined);
  });
});

describe('per-user connections across instances (Redis)', () => {
  const LEASE_MS = 1500;
  let redis: RedisServer;
  let backend: MockBackend;
  let a: Gateway;
  let b: Gateway;
  /** Fails closed when Redis cannot count. */
  let strict: Gateway;
  const clients: ProtocolClient[] = [];
  const limits = { maxConnectionsPerUser: 2, userConnectionsLeaseMs: LEASE_MS, userConnectionsTimeoutMs: 300 };
  const options = (): GatewayOptions => ({ routes: [{ serverType: 1, endpoints: [backend.endpoint] }], auth, redis: { url: redis.url }, limits });
  const connect = async (gateway: Gateway, sub: string) => {
    const client = await connectClient(urlOf(gateway), { headers: await bearer(sub) });
    clients.push(client);
    return client;
  };
  /** Alice's next upgrade on `gateway`, as a raw request: its status and body. */
  const aliceTries = async (gateway: Gateway) => attempt(gateway.port, '/', await bearer('alice'));

  before(async () => {
    redis = await startRedisServer();
    backend = await startMockBackend();
    a = await testGateway({ ...options(), name: 'a', nodeId: 11 });
    b = await testGateway({ ...options(), name: 'b', nodeId: 12 });
    strict = await testGateway({ ...options(), name: 'strict', nodeId: 14, limits: { ...limits, userConnectionsFailOpen: false } });
    await leases(6);
  });

  /** Waits until `count` workers hold a lease: until then a worker's Redis connection is not ready, and it admits uncounted. */
  const leases = async (count: number) => {
    const client = new Redis(redis.url);
    try {
      await waitUntil(async () => (await client.keys('actorgate:user-conns-live:*')).length === count, 10_000, `${count} worker leases in Redis`);
    } finally {
      client.disconnect();
    }
  };

  after(async () => {
    for (const client of clients) await client.close();
    for (const gateway of [a, b, strict]) await gateway?.close();
    await backend.close();
    await redis.stop();
  });

  test('the third connection of a user across two instances gets 429 TOO_MANY_CONNECTIONS_PER_USER; a close frees a place; other users and anonymous sessions are not counted', async () => {
    const first = await connect(a, 'alice');
    const second = await connect(b, 'alice');
    const refused = await aliceTries(a);
    assert.equal(refused.status, 429);
    assert.deepEqual([refused.body.code, refused.body.name], [Code.TOO_MANY_CONNECTIONS_PER_USER, 'TOO_MANY_CONNECTIONS_PER_USER']);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal((await aliceTries(b)).status, 429, 'from either instance');
    await connect(a, 'bob');
    for (let i = 0; i < 3; i++) clients.push(await connectClient(urlOf(b)));
    assert.ok((await metric(a, 'actorgate_upgrade_refusals_total', { reason: 'user_connections' })) >= 1);
    await second.close();
    // The close gives the place back asynchronously: alice is admitted again once Redis has it.
    const third = await waitUntil(async () => connect(a, 'alice').catch(() => undefined), 5000, 'a free place after a close');
    assert.equal((await aliceTries(b)).status, 429, 'and then the limit holds again');
    await Promise.all([first.close(), third.close()]);
  });

  test('an instance that closes frees its places at once; one that is killed frees them within the lease', { timeout: 40_000 }, async () => {
    await waitUntil(async () => (await aliceTries(a)).status === 101, 5000, 'alice with no place held');
    const onA = await connect(a, 'alice');
    await connect(b, 'alice');
    assert.equal((await aliceTries(a)).status, 429);
    await b.close();
    const again = await connect(a, 'alice');
    assert.equal((await aliceTries(a)).status, 429);
    await again.close();

    // A third instance in its own process, killed with alice's session on it.
    const dir = mkdtempSync(join(tmpdir(), 'actorgate-users-'));
    const file = join(dir, 'gateway.json');
    writeFileSync(file, JSON.stringify({ ...options(), nodeId: 13, workers: 1, listen: { host: '127.0.0.1', port: 0 }, admin: { port: null }, push: { port: null } }));
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../bin/actorgate.js', import.meta.url)), 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = await waitUntil(() => {
        if (child.exitCode !== null) throw new Error(`actorgate start exited: ${out}`);
        return /ws:\/\/127\.0\.0\.1:\d+\//.exec(out)?.[0];
      }, 20_000, 'the third instance to listen');
      await leases(5);
      const onChild = await connectClient(url, { headers: await bearer('alice') });
      assert.equal((await aliceTries(a)).status, 429, 'a place on each of two instances');
      child.kill('SIGKILL');
      await onChild.closed;
      const killedAt = performance.now();
      await waitUntil(async () => (await aliceTries(a)).status === 101, LEASE_MS + 5000, 'the killed instance\'s place to stop counting');
      const freedMs = performance.now() - killedAt;
      assert.ok(freedMs < LEASE_MS + 2000, `freed ${freedMs.toFixed(0)} ms after the kill (lease ${LEASE_MS} ms)`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await onA.close();
  });

  test('a worker that fails gives back its places when it restarts, long before its lease would lapse', { timeout: 20_000 }, async () => {
    const restarting = await testGateway({
      ...options(),
      name: 'restarting',
      nodeId: 15,
      faultInjection: true,
      restart: { initialMs: 50, maxMs: 1000 },
      limits: { ...limits, maxConnectionsPerUser: 1, userConnectionsLeaseMs: 60_000, userConnectionsFailOpen: false },
    });
    try {
      // Failing closed, an upgrade is refused (503) until the worker's Redis connection is ready, never admitted uncounted.
      const erin = await waitUntil(async () => connectClient(urlOf(restarting), { headers: await bearer('erin') }).catch(() => undefined), 10_000, 'erin counted');
      // 503 while the other worker's connection is not ready yet, then the limit.
      await waitUntil(async () => (await attempt(restarting.port, '/', await bearer('erin'))).status === 429, 10_000, 'erin\'s second connection refused 429');
      injectWorkerFault(restarting, erin.worker);
      erin.send(1, FREE, 'this message hits the injected bug');
      await erin.closed;
      await waitUntil(() => restarting.workers()[erin.worker]!.restarts === 1 && restarting.workers()[erin.worker]!.state === 'running', 10_000, 'the worker restarted');
      const again = await waitUntil(async () => connectClient(urlOf(restarting), { headers: await bearer('erin') }).catch(() => undefined), 10_000, 'erin admitted again');
      await again.close();
    } finally {
      await restarting.close();
    }
  });

  test('Redis slow or down: the upgrade is admitted uncounted (failing open, the default) or refused 503 USER_LIMIT_UNAVAILABLE; both counted', { timeout: 20_000 }, async () => {
    // Slow: a server busy for longer than limits.userConnectionsTimeoutMs (a script that spins for a second).
    const blocker = new Redis(redis.url);
    const spin = "local t = redis.call('TIME') local stop = t[1] * 1e6 + t[2] + 1e6 repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] >= stop return 1";
    const asleep = blocker.eval(spin, 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    const slow = await aliceTries(a);
    assert.equal(slow.status, 101);
    assert.ok(performance.now() - started < 900, 'answered at the deadline, not when Redis woke');
    await asleep;
    blocker.disconnect();
    assert.ok((await metric(a, 'actorgate_user_connection_check_failures_total')) >= 1);

    await redis.stop();
    await waitUntil(async () => (await aliceTries(strict)).status === 503, 5000, 'the strict instance to refuse');
    const refused = await aliceTries(strict);
    assert.deepEqual([refused.status, refused.body.code, refused.body.name], [503, Code.USER_LIMIT_UNAVAILABLE, 'USER_LIMIT_UNAVAILABLE']);
    assert.ok((await metric(strict, 'actorgate_upgrade_refusals_total', { reason: 'user_limit_unavailable' })) >= 1);
    for (let i = 0; i < 3; i++) assert.equal((await aliceTries(a)).status, 101, 'failing open: admitted whatever the count');
    assert.ok((await metric(a, 'actorgate_user_connection_check_failures_total')) >= 4);
  });
});
