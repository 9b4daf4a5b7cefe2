import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { main } from '../../src/cli/main.ts';
import { parseAnnouncement, type InstanceAnnouncement, type InstanceEntry } from '../../src/control/registry-entry.ts';
import { connectClient, freePort, waitUntil } from '../../src/testkit/index.ts';
import { startRedisServer } from './redis-server.ts';
import { testGateway, urlOf } from './helpers.ts';

/** `actorgate instances` run in-process; resolves with its exit code and output. */
async function instances(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, signals: { on() {}, off() {} }, exit() {} };
  const code = await main(['instances', ...args], {}, io);
  return { code, stdout, stderr };
}

test('gateways register in Redis, refresh their entry, announce joins, drains and leaves, and actorgate instances lists them', async () => {
  const redis = await startRedisServer();
  const watcher = new Redis(redis.url);
  const announcements: InstanceAnnouncement[] = [];
  try {
    await watcher.subscribe('actorgate:instances');
    watcher.on('message', (_channel: string, text: string) => {
      const a = parseAnnouncement(text);
      if (a !== undefined) announcements.push(a);
    });
    const common = { workers: 1, redis: { url: redis.url }, registry: { advertiseHost: 'gw.example', ttlMs: 3000 } };
    const a = await testGateway({ ...common, name: 'gw-a', listen: { host: '0.0.0.0', port: 0 } });
    const b = await testGateway({ ...common, name: 'gw-b', registry: { ...common.registry, clientUrls: ['wss://lb.example/'], pushAddress: 'push-b.example:443' } });
    try {
      const listed = await instances(['--redis', redis.url, '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      const entries = JSON.parse(listed.stdout) as InstanceEntry[];
      const byName = new Map(entries.map((e) => [e.name, e]));
      assert.deepEqual([...byName.keys()].sort(), ['gw-a', 'gw-b']);
      const entryA = byName.get('gw-a')!;
      assert.equal(entryA.nodeId, a.config.nodeId);
      assert.equal(entryA.state, 'running');
      assert.equal(entryA.workers, 1);
      assert.deepEqual(entryA.clientUrls, [`ws://gw.example:${a.port}/`], 'a wildcard listen host is replaced by registry.advertiseHost');
      assert.equal(entryA.pushAddress, `127.0.0.1:${a.pushPort}`);
      assert.deepEqual(byName.get('gw-b')!.clientUrls, ['wss://lb.example/']);
      assert.equal(byName.get('gw-b')!.pushAddress, 'push-b.example:443');
      assert.ok(entryA.startedAt <= Date.now() && entryA.startedAt > Date.now() - 60_000);

      const table = await instances(['--redis', redis.url]);
      assert.match(table.stdout, /^NODE\s+NAME\s+STATE/);
      assert.match(table.stdout, /gw-a\s+running\s+1\s+0/);

      await waitUntil(() => announcements.filter((x) => x.event === 'join').length >= 2, 5000, 'two joins announced');
      assert.ok(announcements.some((x) => x.event === 'state' && x.instance.name === 'gw-a' && x.instance.state === 'running'));

      // The TTL is refreshed (every ttlMs / 3), with the session count: outlives several TTLs and counts a client.
      const client = await connectClient(urlOf(a));
      const key = `actorgate:instance:${a.config.nodeId}`;
      const reader = new Redis(redis.url);
      const ttl = await reader.pttl(key);
      reader.disconnect();
      assert.ok(ttl > 0 && ttl <= 3000, `entry has a TTL (${ttl})`);
      await waitUntil(async () => (JSON.parse((await instances(['--redis', redis.url, '--json'])).stdout) as InstanceEntry[]).find((e) => e.name === 'gw-a')?.sessions === 1, 5000, 'the session count to be refreshed');
      client.close();

      // drain: marked draining (announced), then deleted at close (announced as a leave).
      await a.drain({ timeoutMs: 200 });
      assert.ok(announcements.some((x) => x.event === 'state' && x.instance.name === 'gw-a' && x.instance.state === 'draining'));
      await waitUntil(() => announcements.some((x) => x.event === 'leave' && x.instance.name === 'gw-a'), 5000, 'gw-a leave');
      const after = JSON.parse((await instances(['--redis', redis.url, '--json'])).stdout) as InstanceEntry[];
      assert.deepEqual(after.map((e) => e.name), ['gw-b'], 'a closed instance is deleted at once');
    } finally {
      await a.close();
      await b.close();
    }
    const none = await instances(['--redis', redis.url]);
    assert.match(none.stdout, /no live instances/);
  } finally {
    watcher.disconnect();
    await redis.stop();
  }
});

test('actorgate instances without a Redis says what it needs (exit 2); with an unreachable one, exit 1', async () => {
  const missing = await instances([]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--redis URL/);
  const down = await instances(['--redis', 'redis://127.0.0.1:1']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot read the registry/);
});

test('a gateway that starts while Redis is down registers (and announces its join) once Redis answers', async () => {
  const port = await freePort();
  await using gateway = await testGateway({ workers: 1, nodeId: 9, name: 'late', redis: { url: `redis://127.0.0.1:${port}` } });
  const redis = await startRedisServer(port);
  try {
    await waitUntil(async () => {
      const listed = await instances(['--redis', redis.url, '--json']);
      return listed.code === 0 && (JSON.parse(listed.stdout) as InstanceEntry[]).some((e) => e.name === 'late' && e.nodeId === 9 && e.state === 'running');
    }, 15_000, 'the entry to appear once Redis is up');
  } finally {
    await gateway.close();
    await redis.stop();
  }
});
