import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { pack } from 'msgpackr';
import { PacketKind, connectClient, packServerId, startMockBackend, waitUntil, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import type { PushInput } from '../../src/push/push-item.ts';
import { clientsOnEveryWorker, metric, testGateway } from './helpers.ts';
import { PushClient, httpPush, type Summary } from './push-client.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';

const PUSHED = packServerId({ serverType: 9 });
const texts = (client: ProtocolClient) => client.frames.filter((f) => f.serverId === PUSHED).map((f) => f.payload.toString());
const N = 20;
const USER = 'carol';
const TOPIC = 'room.matrix';

/** The documented channel of a session (docs/PROTOCOL.md §10), from the node id and worker its id encodes (§9). */
function sessionChannelOf(sessionId: string): string {
  const id = BigInt(sessionId);
  return `actorgate:session:${(id >> 20n) & 0x1fffn}:${(id >> 14n) & 0x3fn}`;
}

/** A push as a backend would publish it straight to Redis: the documented channel and a plain msgpack map. */
function redisMessage(push: PushInput): [channel: string, message: Buffer] {
  const envelope: Record<string, unknown> = { msgId: push.msgId, serverId: push.serverId, payload: push.payload };
  if (push.topic) return [`actorgate:topic:${push.topic}`, pack(envelope)];
  if (push.userId) return [`actorgate:user:${push.userId}`, pack(envelope)];
  envelope.session = String(push.sessionId);
  return [sessionChannelOf(String(push.sessionId)), pack(envelope)];
}

const addSummary = (total: Summary, s: Summary) => {
  total.accepted += s.accepted;
  total.delivered += s.delivered;
  total.dropped += s.dropped;
};

describe('fan-out across two gateway instances through a real Redis', () => {
  let redis: RedisServer;
  let backend: MockBackend;
  let a: Gateway;
  let b: Gateway;
  let publisher: Redis;
  const pushers = new Map<Gateway, PushClient>();
  /** Per instance and worker: one session bound to USER, one subscribed to TOPIC, one with neither. */
  interface Placed {
    gateway: Gateway;
    worker: number;
    user: ProtocolClient;
    topic: ProtocolClient;
    plain: ProtocolClient;
  }
  let placed: Placed[];
  /** Every client the matrix watches (more than `placed` names, when the kernel put extra ones on a worker). */
  let everyone: ProtocolClient[];
  const numsub = async (channel: string) => Number((await publisher.pubsub('NUMSUB', channel))[1]);

  before(async () => {
    redis = await startRedisServer();
    backend = await startMockBackend();
    const common = { routes: [{ serverType: 1, endpoints: [backend.endpoint] }], topics: { allow: ['room.*'] }, redis: { url: redis.url } };
    a = await testGateway({ ...common, name: 'a', nodeId: 1 });
    b = await testGateway({ ...common, name: 'b', nodeId: 2 });
    publisher = new Redis(redis.url);
    placed = [];
    everyone = [];
    for (const gateway of [a, b]) {
      pushers.set(gateway, new PushClient(gateway.pushPort!));
      const byWorker = await clientsOnEveryWorker(gateway, 3);
      byWorker.forEach(([user, topic, plain], worker) => placed.push({ gateway, worker, user: user!, topic: topic!, plain: plain! }));
      everyone.push(...byWorker.flat());
    }
    for (const { user, topic } of placed) {
      user.send(1, packServerId({ serverType: 1 }), 'hello');
      await user.waitForFrame((f) => f.msgId === 1);
      backend.bindUser(user.sessionId, USER);
      topic.subscribe(TOPIC);
      assert.equal((await topic.waitForControl('subscribe-result')).code, 0);
    }
    await waitUntil(async () => (await numsub(`actorgate:user:${USER}`)) === 4, 5000, 'all four workers on the user channel');
    await waitUntil(async () => (await numsub(`actorgate:topic:${TOPIC}`)) === 4, 5000, 'all four workers on the topic channel');
    for (const nodeId of [1, 2]) {
      for (const worker of [0, 1]) await waitUntil(async () => (await numsub(`actorgate:session:${nodeId}:${worker}`)) === 1, 5000, `session channel ${nodeId}:${worker}`);
    }
  });
  after(async () => {
    for (const pusher of pushers.values()) pusher.close();
    publisher.disconnect();
    await a.close();
    await b.close();
    await backend.close();
    await redis.stop();
  });

  /**
   * How each transport carries a list of batches, in order. `oneBatch`: the numbered messages go as one batch (order
   * within a batch) or one batch each (order across calls, stream messages or requests). Resolves with the summed
   * summary, or undefined for Redis (a PUBLISH answers with receivers, not a summary).
   */
  interface Transport {
    name: string;
    /** The instance the pushes are sent to; undefined for straight Redis publishes. */
    via: () => Gateway | undefined;
    oneBatch: boolean;
    send(batches: PushInput[][]): Promise<Summary | undefined>;
  }
  const transports: Transport[] = [
    {
      name: 'gRPC Push',
      via: () => a,
      oneBatch: true,
      async send(batches) {
        const total = { accepted: 0, delivered: 0, dropped: 0 };
        for (const batch of batches) addSummary(total, await pushers.get(a)!.push(batch));
        return total;
      },
    },
    { name: 'gRPC PushStream', via: () => b, oneBatch: false, send: (batches) => pushers.get(b)!.stream(batches) },
    {
      name: 'HTTP JSON',
      via: () => a,
      oneBatch: false,
      async send(batches) {
        const total = { accepted: 0, delivered: 0, dropped: 0 };
        for (const batch of batches) {
          const pushes = batch.map((p) => ({ ...p, sessionId: p.sessionId ?? undefined, payload: Buffer.from(p.payload!).toString('base64') }));
          const { status, summary } = await httpPush(a.adminPort!, { pushes });
          assert.equal(status, 200);
          addSummary(total, summary);
        }
        return total;
      },
    },
    {
      name: 'HTTP msgpack',
      via: () => b,
      oneBatch: true,
      async send(batches) {
        const total = { accepted: 0, delivered: 0, dropped: 0 };
        for (const batch of batches) {
          // Session ids as integers (above 2^53: bigint, packed as a 64-bit int), as a msgpack publisher sends them.
          const pushes = batch.map((p) => (p.sessionId ? { ...p, sessionId: BigInt(p.sessionId) } : p));
          const { status, summary } = await httpPush(b.adminPort!, { pushes }, true);
          assert.equal(status, 200);
          addSummary(total, summary);
        }
        return total;
      },
    },
    {
      name: 'Redis PUBLISH',
      via: () => undefined,
      oneBatch: false,
      async send(batches) {
        // One connection, no awaits in between: Redis keeps one publisher's order.
        await Promise.all(batches.flat().map((push) => publisher.publish(...redisMessage(push))));
        return undefined;
      },
    },
  ];

  const targets = ['session', 'user', 'topic'] as const;
  transports.forEach((transport, t) => {
    for (const target of targets) {
      test(`${transport.name} → ${target}: exactly the targets, each message once, in publisher order`, async () => {
        const via = transport.via();
        // A session on the other instance than the one pushed to, on worker 0 or 1 depending on the transport.
        const other = via === a ? b : a;
        const sessionTarget = placed.find((p) => p.gateway === other && p.worker === Math.floor(t / 2) % 2)!.plain;
        const receivers = target === 'session' ? [sessionTarget] : placed.map((p) => (target === 'user' ? p.user : p.topic));
        const aim: PushInput = target === 'session' ? { sessionId: sessionTarget.sessionId } : target === 'user' ? { userId: USER } : { topic: TOPIC };
        const tag = `${transport.name}/${target}#`;
        const push = (label: string): PushInput => ({ ...aim, msgId: 7, serverId: PUSHED, payload: Buffer.from(tag + label) });
        const numbered = Array.from({ length: N }, (_, i) => push(String(i)));

        const summary = await transport.send([...(transport.oneBatch ? [numbered] : numbered.map((p) => [p])), [push('fence')]]);
        if (via !== undefined) {
          const local = receivers.filter((c) => placed.some((p) => p.gateway === via && (p.user === c || p.topic === c || p.plain === c))).length;
          assert.deepEqual(summary, { accepted: N + 1, delivered: (N + 1) * local, dropped: 0 }, 'delivered counts the instance pushed to');
        }

        // Every push above has reached Redis (a summary waits for its publishes; Redis answered ours). One more
        // message per client on its own session channel, from this one publisher, follows everything on each worker's
        // subscriber connection and local delivery: once it is in, nothing from this case can still arrive.
        const end = tag + 'end';
        await Promise.all(everyone.map((c) => publisher.publish(...redisMessage({ sessionId: c.sessionId, msgId: 7, serverId: PUSHED, payload: Buffer.from(end) }))));
        await Promise.all(everyone.map((c) => c.waitForFrame((f) => f.payload.toString() === end)));

        const expected = [...numbered.map((p) => Buffer.from(p.payload!).toString()), tag + 'fence', end];
        for (const client of everyone) {
          const got = texts(client).filter((s) => s.startsWith(tag));
          assert.deepEqual(got, receivers.includes(client) ? expected : [end], `session ${client.sessionId} (worker ${client.worker})`);
        }
      });
    }
  });

  test('unknown targets are counted as no_target, not errors, with Redis configured (gRPC and HTTP)', async () => {
    const idOf = (nodeId: bigint, worker: bigint) => (1n << 33n) | (nodeId << 20n) | (worker << 14n) | 1n;
    const unknown = (sessionId: bigint): PushInput[] => [
      { sessionId: idOf(1n, 0n).toString(), msgId: 1, serverId: PUSHED }, // this instance, no such session
      { sessionId: sessionId.toString(), msgId: 1, serverId: PUSHED }, // a node nobody runs: no Redis receiver
      { userId: 'nobody', msgId: 1, serverId: PUSHED },
      { topic: 'room.nobody', msgId: 1, serverId: PUSHED },
    ];
    const outcome = (o: string) => metric(a, 'actorgate_push_api_total', { outcome: o });
    const [noTarget, invalid, failed] = [await outcome('no_target'), await outcome('invalid'), await outcome('redis_failed')];
    assert.deepEqual(await pushers.get(a)!.push(unknown(idOf(3n, 0n))), { accepted: 4, delivered: 0, dropped: 4 });
    assert.equal(await outcome('no_target'), noTarget + 4);
    const json = await httpPush(a.adminPort!, { pushes: unknown(idOf(4n, 1n)) });
    assert.equal(json.status, 200);
    assert.deepEqual(json.summary, { accepted: 4, delivered: 0, dropped: 4 });
    const msgpack = await httpPush(a.adminPort!, { pushes: unknown(idOf(5n, 0n)).map((p) => (p.sessionId ? { ...p, sessionId: BigInt(p.sessionId) } : p)) }, true);
    assert.deepEqual(msgpack.summary, { accepted: 4, delivered: 0, dropped: 4 });
    assert.equal(await outcome('no_target'), noTarget + 12);
    assert.equal(await outcome('invalid'), invalid, 'unknown targets are valid pushes');
    assert.equal(await outcome('redis_failed'), failed, 'and not Redis errors');

    // A session id of a live instance that holds no such session: that instance's worker hears it and counts it.
    const missed = () => metric(b, 'actorgate_push_no_local_target_total', { worker: 1 });
    const before = await missed();
    assert.deepEqual(await pushers.get(a)!.push([{ sessionId: idOf(2n, 1n).toString(), msgId: 1, serverId: PUSHED }]), { accepted: 1, delivered: 0, dropped: 0 });
    await waitUntil(async () => (await missed()) === before + 1, 5000, 'B worker 1 counts the push it could not deliver');
  });

  test('Redis subscriptions follow demand: a worker leaves a user channel when the user’s last session closes', async () => {
    const channel = 'actorgate:user:dora';
    const channels = async () => (await publisher.pubsub('CHANNELS', channel)) as string[];
    const byWorker = await clientsOnEveryWorker(b, 2);
    const [first, second] = byWorker[0]!;
    for (const client of [first!, second!]) {
      client.send(1, packServerId({ serverType: 1 }), 'hello');
      await client.waitForFrame((f) => f.msgId === 1);
      backend.bindUser(client.sessionId, 'dora');
    }
    await waitUntil(async () => (await numsub(channel)) === 1, 5000, 'one worker on the user channel');
    assert.deepEqual(await channels(), [channel]);

    await first!.close();
    await backend.waitFor((p) => p.kind === PacketKind.CLOSE && p.sessionId === first!.sessionId);
    // The worker still holds a session of the user: the channel stays, and carries messages.
    assert.equal(await publisher.publish(channel, pack({ msgId: 2, serverId: PUSHED, payload: Buffer.from('still here') })), 1);
    await second!.waitForFrame((f) => f.payload.toString() === 'still here');

    await second!.close();
    await waitUntil(async () => (await channels()).length === 0, 5000, 'user channel released after the last session closed');
    assert.equal(await numsub(channel), 0);
    await Promise.all(byWorker.flat().map((c) => c.close()));
  });

  test('Redis subscriptions follow demand: a worker leaves a topic channel when its last subscriber does', async () => {
    const client = await connectClient(`ws://127.0.0.1:${b.port}/`);
    client.subscribe('room.solo');
    await client.waitForControl('subscribe-result');
    await waitUntil(async () => (await numsub('actorgate:topic:room.solo')) === 1, 5000, 'subscribed');
    await client.close();
    await waitUntil(async () => (await numsub('actorgate:topic:room.solo')) === 0, 5000, 'unsubscribed after the last local subscriber left');
  });

  // Restarts Redis: keep it last in this suite.
  test('after Redis restarts, every worker resubscribes what its sessions need and fan-out resumes', async () => {
    const subscriber = placed.find((p) => p.gateway === b && p.worker === 0)!.plain;
    subscriber.subscribe('room.restart');
    await subscriber.waitForControl('subscribe-result');
    await redis.stop();
    redis = await startRedisServer(redis.port);
    publisher.disconnect();
    publisher = new Redis(redis.url);
    await waitUntil(async () => (await numsub('actorgate:topic:room.restart')) === 1, 15_000, 'resubscribed after the restart');
    await waitUntil(async () => (await numsub('actorgate:session:2:0')) === 1, 15_000, 'session channel back');
    await publisher.publish('actorgate:topic:room.restart', pack({ msgId: 6, serverId: PUSHED, payload: Buffer.from('after restart') }));
    await subscriber.waitForFrame((f) => f.payload.toString() === 'after restart', 5000);
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
