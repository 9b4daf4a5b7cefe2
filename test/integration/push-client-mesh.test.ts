/**
 * The push client (actorgate/push-client) against two real gateways, `actorgate start` child processes sharing a real
 * redis-server, so one can be killed with SIGKILL and started again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { connectPushClient, type PushClientEvent } from '../../src/push-client/index.ts';
import { connectClient, freePort, packServerId, waitUntil, type ProtocolClient } from '../../src/testkit/index.ts';
import { parseSessionId } from '../../src/core/session-id.ts';
import { startRedisServer } from './redis-server.ts';

const bin = fileURLToPath(new URL('../../bin/actorgate.js', import.meta.url));
const SERVER_ID = packServerId({ serverType: 9 });

interface GatewayProcess {
  name: string;
  port: number;
  pushPort: number;
  child: ChildProcess;
  nodeId: number;
}

async function startGatewayProcess(name: string, redisUrl: string, port: number, pushPort: number, extra: string[] = []): Promise<GatewayProcess> {
  const args = ['start', ...extra, '--name', name, '--host', '127.0.0.1', '--port', String(port), '--push-port', String(pushPort), '--admin-port', 'off', '--workers', '1', '--redis', redisUrl, '--registry-ttl-ms', '3000', '--redis-health-check-ms', '0', '--topics-allow', 'room.*', '--log-level', 'warn'];
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const nodeId = await waitUntil(
    () => {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${out}`);
      const match = /\(node (\d+)\)/.exec(out);
      return match === null || !out.includes('Press Ctrl+C') ? undefined : Number(match[1]);
    },
    20_000,
    `${name} to start`,
  );
  return { name, port, pushPort, child, nodeId };
}

async function stopGatewayProcess(gateway: GatewayProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (gateway.child.exitCode !== null || gateway.child.signalCode !== null) return;
  const exited = once(gateway.child, 'exit');
  gateway.child.kill(signal);
  await exited;
}

/**
 * Redis's own count of PUBLISH commands it has executed (INFO commandstats). The gateways run without their pub/sub
 * self-probe (redis.healthCheckMs 0), so every PUBLISH counted is a push or a registry announcement.
 */
async function publishCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/cmdstat_publish:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

function payloadsOf(client: ProtocolClient, msgId: number): string[] {
  return client.frames.filter((f) => f.msgId === msgId).map((f) => f.payload.toString());
}

test('the push client delivers to sessions on two gateways directly, survives one being killed and restarted, and sends no session push through Redis while its owner is reachable', async () => {
  const redis = await startRedisServer();
  const admin = new Redis(redis.url);
  const [portA, pushA, portB, pushB] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const events: PushClientEvent[] = [];
  let a: GatewayProcess | undefined;
  let b: GatewayProcess | undefined;
  const clients: ProtocolClient[] = [];
  const connect = async (port: number) => {
    const client = await connectClient(`ws://127.0.0.1:${port}/`);
    clients.push(client);
    return client;
  };
  try {
    [a, b] = await Promise.all([startGatewayProcess('gw-a', redis.url, portA, pushA), startGatewayProcess('gw-b', redis.url, portB, pushB)]);
    await using pusher = await connectPushClient({
      redis: { url: redis.url },
      maxBufferAgeMs: 300,
      refreshMs: 300,
      reconnect: { initialMs: 50, maxMs: 400 },
      onEvent: (event) => events.push(event),
    });
    const open = () => pusher.stats().gateways.filter((g) => g.state === 'open').map((g) => g.nodeId).sort();
    await waitUntil(() => open().length === 2, 10_000, 'streams to both gateways');

    const onA = await connect(portA);
    const onB = await connect(portB);
    assert.equal(parseSessionId(onA.sessionId).nodeId, a.nodeId);
    assert.equal(parseSessionId(onB.sessionId).nodeId, b.nodeId);
    onA.subscribe('room.1');
    onB.subscribe('room.1');
    assert.equal((await onA.waitForControl('subscribe-result')).code, 0);
    assert.equal((await onB.waitForControl('subscribe-result')).code, 0);

    // Session pushes to both owners: each reaches its session, in order, and Redis executes no PUBLISH meanwhile.
    const before = await publishCalls(admin);
    for (let i = 0; i < 200; i++) {
      pusher.pushToSession(onA.sessionId, 1, SERVER_ID, Buffer.from(`a${i}`));
      pusher.pushToSession(BigInt(onB.sessionId), 1, SERVER_ID, Buffer.from(`b${i}`));
    }
    await onA.waitFor(() => payloadsOf(onA, 1).length === 200, 5000, 'A to get its pushes');
    await onB.waitFor(() => payloadsOf(onB, 1).length === 200, 5000, 'B to get its pushes');
    assert.deepEqual(payloadsOf(onA, 1), Array.from({ length: 200 }, (_, i) => `a${i}`));
    assert.deepEqual(payloadsOf(onB, 1), Array.from({ length: 200 }, (_, i) => `b${i}`));
    // A topic push goes to every gateway, each delivering only locally: once per subscriber, no Redis copy.
    pusher.pushToTopic('room.1', 2, SERVER_ID, Buffer.from('t'));
    await onA.waitFor(() => payloadsOf(onA, 2).length === 1, 5000, 'A to get the topic push');
    await onB.waitFor(() => payloadsOf(onB, 2).length === 1, 5000, 'B to get the topic push');
    assert.equal(await publishCalls(admin), before, 'Redis ran no PUBLISH for pushes whose gateway was reachable');
    assert.equal(pusher.stats().viaRedis, 0);
    assert.equal(pusher.stats().direct, 402);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(payloadsOf(onA, 2).length + payloadsOf(onB, 2).length, 2, 'no duplicate topic delivery');

    // The counter does see session pushes that take Redis: the same pushes through a client with sessions: 'redis'.
    {
      await using viaRedis = await connectPushClient({ redis: { url: redis.url }, sessions: 'redis' });
      const start = await publishCalls(admin);
      for (let i = 0; i < 10; i++) viaRedis.pushToSession(onA.sessionId, 5, SERVER_ID, Buffer.from(`r${i}`));
      await onA.waitFor(() => payloadsOf(onA, 5).length === 10, 5000, 'A to get the pushes sent through Redis');
      assert.equal((await publishCalls(admin)) - start, 10);
    }

    // B dies without leaving. A keeps getting its pushes; pushes for B are held briefly, then dropped and reported.
    await stopGatewayProcess(b, 'SIGKILL');
    await waitUntil(() => events.some((e) => e.type === 'gateway-down' && e.gateway.nodeId === b!.nodeId), 5000, 'the client to see B down');
    pusher.pushToSession(onB.sessionId, 3, SERVER_ID, Buffer.from('lost'));
    pusher.pushToSession(onA.sessionId, 3, SERVER_ID, Buffer.from('still'));
    await onA.waitFor(() => payloadsOf(onA, 3).length === 1, 5000, 'A to get pushes while B is down');
    await waitUntil(() => events.some((e) => e.type === 'drop' && e.nodeId === b!.nodeId && (e.reason === 'expired' || e.reason === 'gateway-gone')), 5000, 'the held push for B to be reported dropped');
    assert.equal(pusher.stats().dropped.expired + pusher.stats().dropped['gateway-gone'], 1);

    // B comes back on the same ports (a new node id: the dead one's lease has not run out). The client finds it,
    // and drops the old entry when its TTL runs out.
    const oldB = b;
    b = await startGatewayProcess('gw-b', redis.url, portB, pushB);
    assert.notEqual(b.nodeId, oldB.nodeId);
    await waitUntil(() => open().includes(b!.nodeId), 10_000, 'a stream to the restarted B');
    await waitUntil(() => events.some((e) => e.type === 'gateway-removed' && e.gateway.nodeId === oldB.nodeId && e.reason === 'expired'), 10_000, 'the dead B to expire');
    assert.deepEqual(open(), [a.nodeId, b.nodeId].sort());
    const onB2 = await connect(portB);
    const publishesBefore = await publishCalls(admin);
    for (let i = 0; i < 50; i++) pusher.pushToSession(onB2.sessionId, 4, SERVER_ID, Buffer.from(`c${i}`));
    pusher.pushToSession(onA.sessionId, 4, SERVER_ID, Buffer.from('a'));
    await onB2.waitFor(() => payloadsOf(onB2, 4).length === 50, 5000, 'the restarted B to get its pushes');
    await onA.waitFor(() => payloadsOf(onA, 4).length === 1, 5000, 'A too');
    assert.deepEqual(payloadsOf(onB2, 4), Array.from({ length: 50 }, (_, i) => `c${i}`));
    assert.equal(await publishCalls(admin), publishesBefore, 'still no PUBLISH after the restart');

    // A drains: the client stops sending to it; its session pushes then take Redis (the session may still be there).
    a.child.kill('SIGTERM');
    await waitUntil(() => events.some((e) => e.type === 'gateway-removed' && e.gateway.nodeId === a!.nodeId), 5000, 'A removed when it drains');
    assert.deepEqual(open(), [b.nodeId]);
  } finally {
    for (const client of clients) client.terminate();
    if (a !== undefined) await stopGatewayProcess(a, 'SIGKILL');
    if (b !== undefined) await stopGatewayProcess(b, 'SIGKILL');
    admin.disconnect();
    await redis.stop();
  }
});

test('a gateway restarted in place (same node id and address) gets the same stream back at once, with what was held for it', async () => {
  const redis = await startRedisServer();
  const [port, pushPort] = [await freePort(), await freePort()];
  const events: PushClientEvent[] = [];
  let gateway: GatewayProcess | undefined;
  try {
    gateway = await startGatewayProcess('gw-fixed', redis.url, port, pushPort, ['--node-id', '77']);
    await using pusher = await connectPushClient({ redis: { url: redis.url }, maxBufferAgeMs: 10_000, reconnect: { initialMs: 60_000, maxMs: 60_000 }, onEvent: (e) => events.push(e) });
    await waitUntil(() => pusher.stats().gateways[0]?.state === 'open', 10_000, 'the stream');
    await stopGatewayProcess(gateway, 'SIGKILL');
    await waitUntil(() => pusher.stats().gateways[0]?.state === 'backoff', 5000, 'the stream to break');
    // Held while it is down, and written once the stream is back.
    const sentBefore = pusher.stats().gateways[0]!.sent;
    pusher.pushToTopic('room.7', 1, SERVER_ID, Buffer.from('held'));
    assert.equal(pusher.stats().gateways[0]!.buffered, 1);
    const started = Date.now();
    gateway = await startGatewayProcess('gw-fixed', redis.url, port, pushPort, ['--node-id', '77']);
    // The join of the new process (same node id, new entry id) reopens the stream without waiting out the backoff
    // (a full-jitter draw below 60 s: on its own it would come after 30 s half the time).
    await waitUntil(() => pusher.stats().gateways[0]?.state === 'open', 30_000, 'the stream back');
    assert.ok(Date.now() - started < 30_000, 'sooner than the backoff');
    assert.equal(pusher.stats().gateways[0]!.buffered, 0);
    assert.equal(pusher.stats().gateways[0]!.sent, sentBefore + 1, 'the held push was written');
    const client = await connectClient(`ws://127.0.0.1:${port}/`);
    client.subscribe('room.7');
    assert.equal((await client.waitForControl('subscribe-result')).code, 0);
    pusher.pushToTopic('room.7', 2, SERVER_ID, Buffer.from('after'));
    assert.equal((await client.waitForFrame((f) => f.msgId === 2, 5000)).payload.toString(), 'after');
    assert.equal(pusher.stats().gateways.length, 1);
    assert.equal(events.filter((e) => e.type === 'gateway-removed').length, 0, 'the same link throughout');
    client.terminate();
  } finally {
    if (gateway !== undefined) await stopGatewayProcess(gateway, 'SIGKILL');
    await redis.stop();
  }
});
