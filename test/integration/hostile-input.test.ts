/**
 * Hostile input on every surface a gateway reads (issue 10), each tried the way an attacker or a careless integrator
 * would, against what docs/PROTOCOL.md promises: client control bodies, REFRESH tokens, backend packets, Redis
 * envelopes published by a third party, and the gRPC push API driven by a raw client. One real gateway (one worker,
 * so every counter is that worker's), a real grpc-js backend and a real redis-server; a second gateway for REFRESH.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { pack } from 'msgpackr';
import type { Gateway } from '../../src/gateway.ts';
import { Code, Control, PacketKind, connectClient, packServerId, startMockBackend, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import { makeKey, sign } from '../fixtures/auth-keys.ts';
import { metric, scrapeMetrics, testGateway, urlOf, waitUntil } from './helpers.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';

const ECHO = packServerId({ serverType: 1 });
const PUSHED = packServerId({ serverType: 9 });
const MAX_SUBSCRIPTIONS = 4;

/** A control message with any body, header length always right (a malformed body, not a malformed frame). */
function control(msgId: number, body: Uint8Array | string): Buffer {
  const bytes = Buffer.from(body);
  const header = Buffer.alloc(8);
  header.writeUInt16LE(bytes.length, 0);
  header.writeUInt16LE(msgId, 2);
  return Buffer.concat([header, bytes]);
}

/** A session that a backend has seen (its first DATA went through), so the backend can send to it. */
async function opened(gateway: Gateway): Promise<ProtocolClient> {
  const client = await connectClient(urlOf(gateway));
  client.send(1, ECHO, 'hello');
  await client.waitForFrame((f) => f.msgId === 1);
  return client;
}

describe('hostile input', () => {
  let redis: RedisServer;
  let backend: MockBackend;
  let gateway: Gateway;
  let publisher: Redis;
  const clients: ProtocolClient[] = [];
  const connect = async () => {
    const client = await opened(gateway);
    clients.push(client);
    return client;
  };

  before(async () => {
    redis = await startRedisServer();
    backend = await startMockBackend();
    gateway = await testGateway({
      workers: 1,
      nodeId: 3,
      routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
      topics: { allow: ['room*'] },
      limits: { maxSubscriptionsPerSession: MAX_SUBSCRIPTIONS },
      redis: { url: redis.url },
    });
    publisher = new Redis(redis.url);
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    publisher.disconnect();
    await gateway.close();
    await backend.close();
    await redis.stop();
  });

  test('client control bodies: bad topics are results, unknown msgIds ERROR 4504, a SUBSCRIBE flood stops at the limit', async () => {
    const client = await connect();
    const bom = '\uFEFFroom.1';
    const badTopics: [string, Buffer][] = [
      ['empty', control(Control.SUBSCRIBE, '')],
      ['201 bytes', control(Control.SUBSCRIBE, `room.${'x'.repeat(196)}`)],
      ['not UTF-8', control(Control.SUBSCRIBE, Buffer.from([0x72, 0xff, 0x6d]))],
      ['an overlong encoding', control(Control.SUBSCRIBE, Buffer.from([0x72, 0xc0, 0xaf]))],
      ['a lone surrogate', control(Control.SUBSCRIBE, Buffer.from([0x72, 0xed, 0xa0, 0x80]))],
    ];
    for (const [what, message] of badTopics) {
      client.sendRaw(message);
      assert.deepEqual(await client.waitForControl('subscribe-result'), { type: 'subscribe-result', code: Code.BAD_TOPIC, topic: '' }, what);
    }
    client.sendRaw(control(Control.UNSUBSCRIBE, ''));
    assert.deepEqual(await client.waitForControl('unsubscribe-result'), { type: 'unsubscribe-result', code: Code.BAD_TOPIC, topic: '' });
    // A leading U+FEFF is part of the topic: not stripped into "room.1" (which topics.allow would grant).
    client.sendRaw(control(Control.SUBSCRIBE, bom));
    assert.deepEqual(await client.waitForControl('subscribe-result'), { type: 'subscribe-result', code: Code.FORBIDDEN, topic: bom });

    for (const msgId of [0, 11, 0xffff]) {
      client.sendRaw(control(msgId, 'x'));
      const error = await client.waitForControl('error');
      assert.deepEqual([error.code, error.refMsgId, error.refServerId], [Code.UNKNOWN_CONTROL, msgId, 0]);
    }
    // Without auth, REFRESH is an unknown control message.
    client.sendRaw(control(Control.REFRESH, 'a.b.c'));
    assert.equal((await client.waitForControl('error')).code, Code.UNKNOWN_CONTROL);

    for (let i = 0; i < 20; i++) client.subscribe(`room.${i}`);
    const results = await Promise.all(Array.from({ length: 20 }, () => client.waitForControl('subscribe-result')));
    assert.deepEqual(results.map((r) => r.code), [...Array(MAX_SUBSCRIPTIONS).fill(0), ...Array(20 - MAX_SUBSCRIPTIONS).fill(Code.TOO_MANY_SUBSCRIPTIONS)]);
    client.send(1, ECHO, 'still open');
    assert.equal((await client.waitForFrame((f) => f.serverId === ECHO && f.payload.toString() === 'still open')).msgId, 1);
  });

  test('backend packets no client could be given are dropped and counted, never passed on', async () => {
    const client = await connect();
    const before = await scrapeMetrics(gateway);
    const streamId = backend.streamOf(client.sessionId)!;
    // Another worker's session (worker bits 14–19 of the id) and a session id nobody has.
    const otherWorker = (BigInt(client.sessionId) ^ (5n << 14n)).toString();
    backend.write(streamId, [
      { sessionId: otherWorker, kind: PacketKind.DATA, msgId: 2, serverId: ECHO, payload: Buffer.from('x') },
      { sessionId: '12345', kind: PacketKind.DATA, msgId: 2, serverId: ECHO, payload: Buffer.from('x') },
    ]);
    const invalid = [
      { kind: 9 as never, msgId: 2, serverId: ECHO, payload: Buffer.from('unknown kind') },
      { kind: PacketKind.OPEN, msgId: 2, serverId: ECHO },
      { kind: PacketKind.DATA, msgId: 2, serverId: ECHO, payload: Buffer.alloc(65536) },
      { kind: PacketKind.DATA, msgId: 0x10000, serverId: ECHO, payload: Buffer.from('msgId too large') },
      // serverType 0 is the gateway's own: this would reach the client as a DRAIN control message.
      { kind: PacketKind.DATA, msgId: Control.DRAIN, serverId: 0, payload: Buffer.from('forged drain') },
      { kind: PacketKind.SUBSCRIBE, topic: `room.${'x'.repeat(196)}` },
      { kind: PacketKind.SUBSCRIBE, topic: '' },
      { kind: PacketKind.UNSUBSCRIBE, topic: 't'.repeat(1000) },
      { kind: PacketKind.BIND_USER, userId: 'u'.repeat(257) },
    ];
    for (const packet of invalid) backend.send(client.sessionId, packet);
    backend.sendData(client.sessionId, 3, ECHO, 'after');
    await client.waitForFrame((f) => f.msgId === 3);
    const scrape = await scrapeMetrics(gateway);
    assert.equal(scrape('actorgate_backend_packets_invalid_total') - before('actorgate_backend_packets_invalid_total'), invalid.length);
    assert.equal(scrape('actorgate_backend_unknown_session_total') - before('actorgate_backend_unknown_session_total'), 2);
    assert.equal(client.frames.filter((f) => f.msgId === 2).length, 0, 'nothing invalid reached the client');
    assert.equal(client.controls.filter((c) => c.type === 'subscribe-result').length, 0, 'no subscription from an out-of-bounds topic');
  });

  test('a backend close reason over 123 bytes is cut at a character boundary, so the client still gets the code', async () => {
    const client = await connect();
    // A 200-byte reason of two-byte characters: cut to 123 bytes at a character boundary, the code passes through.
    const reason = 'é'.repeat(100);
    backend.closeSession(client.sessionId, 4400, reason);
    const closed = await client.closed;
    assert.equal(closed.code, 4400);
    assert.equal(closed.reason, 'é'.repeat(61));
  });

  test('Redis: what a third party publishes on the gateway’s channels is counted, never delivered as garbage', async () => {
    const client = await connect();
    client.subscribe('room.redis');
    assert.equal((await client.waitForControl('subscribe-result')).code, 0);
    const topic = 'actorgate:topic:room.redis';
    const id = BigInt(client.sessionId);
    const session = `actorgate:session:${(id >> 20n) & 0x1fffn}:${(id >> 14n) & 0x3fn}`;
    const numsub = async (channel: string) => Number((await publisher.pubsub('NUMSUB', channel))[1]);
    await waitUntil(async () => (await numsub(topic)) === 1 && (await numsub(session)) === 1, 5000, 'the worker to subscribe both channels');
    const good = pack({ msgId: 1, serverId: PUSHED, payload: Buffer.from('good') });
    const garbage: [channel: string, message: Buffer][] = [
      [topic, good.subarray(0, good.length - 2)],
      [topic, Buffer.from('not msgpack at all')],
      [topic, pack([1, PUSHED, Buffer.from('an array')])],
      [topic, pack(42)],
      [topic, pack({ msgId: '1', serverId: PUSHED, payload: Buffer.from('a string msgId') })],
      [topic, pack({ msgId: 1, serverId: PUSHED, payload: 'a string payload' })],
      [topic, pack({ msgId: 0x10000, serverId: PUSHED, payload: Buffer.from('msgId too large') })],
      [topic, pack({ msgId: 1, serverId: -1, payload: Buffer.from('negative serverId') })],
      [topic, pack({ msgId: 1, payload: Buffer.from('no serverId: serverType 0, a control message') })],
      [topic, pack({ msgId: Control.DRAIN, serverId: 0x00ff, payload: Buffer.from('forged drain') })],
      [topic, pack({ msgId: 1, serverId: PUSHED, payload: Buffer.alloc(0x10000) })],
      // A valid shape, padded far past any envelope: refused by its size, before decoding.
      [topic, pack({ msgId: 1, serverId: PUSHED, payload: Buffer.from('padded'), pad: Buffer.alloc(200_000) })],
      // A few bytes of header asking for 16 Mi array elements: refused without decoding (which takes seconds).
      [topic, Buffer.concat([Buffer.from([0xdd, 0x01, 0x00, 0x00, 0x00]), Buffer.alloc(16 * 1024 * 1024, 0xc0)])],
      [session, pack({ msgId: 1, serverId: PUSHED, payload: Buffer.from('no session field') })],
      [session, pack({ msgId: 1, serverId: PUSHED, payload: Buffer.from('bad id'), session: 'abc' })],
      [session, pack({ msgId: 1, serverId: PUSHED, payload: Buffer.from('id over 2^64'), session: '18446744073709551616' })],
    ];
    const before = await metric(gateway, 'actorgate_redis_invalid_total');
    for (const [channel, message] of garbage) await publisher.publish(channel, message);
    await publisher.publish(topic, good);
    await publisher.publish(session, pack({ msgId: 2, serverId: PUSHED, payload: Buffer.from('good too'), session: client.sessionId }));
    const pushed = () => client.frames.filter((f) => f.serverId === PUSHED).map((f) => f.payload.toString());
    // Promptly: a huge message must not hold up the worker's loop.
    await client.waitFor(() => pushed().length >= 2, 1000, 'the two good envelopes');
    assert.deepEqual(pushed(), ['good', 'good too']);
    assert.equal((await metric(gateway, 'actorgate_redis_invalid_total')) - before, garbage.length);
  });
});

/** PushSummary's three uint64 fields from its wire bytes (they fit in a number here). */
function summaryOf(bytes: Buffer): number[] {
  const out = [0, 0, 0];
  let pos = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (pos < bytes.length) {
    const field = varint() >>> 3;
    out[field - 1] = varint();
  }
  return out;
}

describe('gRPC push from a raw client', () => {
  let gateway: Gateway;
  let client: grpc.Client;
  let push: (bytes: Buffer) => Promise<number[] | grpc.ServiceError>;

  before(async () => {
    gateway = await testGateway({ workers: 1, nodeId: 3 });
    const Raw = grpc.makeGenericClientConstructor(
      {
        Push: {
          path: '/actorgate.v1.GatewayPush/Push',
          requestStream: false,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      },
      'GatewayPush',
    );
    client = new Raw(`127.0.0.1:${gateway.pushPort}`, grpc.credentials.createInsecure());
    push = (bytes) =>
      new Promise((resolve) => (client as unknown as Record<string, Function>).Push(bytes, (err: grpc.ServiceError | null, answer: Buffer) => resolve(err ?? summaryOf(answer))));
  });

  after(async () => {
    client.close();
    await gateway.close();
  });

  /** One Push message (proto/push.proto) wrapped as PushBatch.pushes, from its already encoded fields. */
  const batch = (...pushes: Buffer[]) => Buffer.concat(pushes.map((p) => Buffer.concat([Buffer.from([0x0a]), varint(p.length), p])));
  const varint = (n: number) => {
    const out: number[] = [];
    for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
    out.push(n);
    return Buffer.from(out);
  };
  const str = (tag: number, text: string | Buffer) => Buffer.concat([Buffer.from([tag]), varint(Buffer.byteLength(text)), Buffer.from(text)]);
  const topic = (t: string) => str(0x1a, t);
  const user = (u: string) => str(0x12, u);
  const session = (id: bigint) => {
    const b = Buffer.alloc(9);
    b[0] = 0x09;
    b.writeBigUInt64LE(id, 1);
    return b;
  };
  const msgId = (n: number) => Buffer.concat([Buffer.from([0x20]), varint(n)]);
  const payload = (bytes: Buffer) => str(0x32, bytes);
  const serverId = (n: number) => Buffer.concat([Buffer.from([0x28]), varint(n)]);
  /** A topic push that is valid: it names a sender (serverType 9). */
  const topicPush = (t: string) => Buffer.concat([topic(t), serverId(PUSHED)]);

  test('invalid pushes are dropped and counted; bytes that are no PushBatch fail the call; the server keeps answering', async () => {
    assert.deepEqual(await push(Buffer.alloc(0)), [0, 0, 0], 'an empty batch');
    const invalid = [
      Buffer.alloc(0), // no target
      session(0n),
      Buffer.concat([session(1n), user('u')]), // two targets on the wire
      topic(`room.${'x'.repeat(196)}`),
      user('u'.repeat(257)),
      Buffer.concat([topic('t'), msgId(0x10000)]),
      Buffer.concat([topic('t'), serverId(PUSHED), payload(Buffer.alloc(0x10000))]),
      topic('t'), // no server_id: serverType 0, the gateway's own
      Buffer.concat([topic('t'), serverId(0x00ff)]), // serverType 0
    ];
    assert.deepEqual(await push(batch(...invalid)), [0, 0, invalid.length]);
    // Valid but reaching nobody: an unknown session of this node, a session of another node (no Redis), a user, a topic.
    const unknown = [session((1n << 33n) | (3n << 20n)), session(0xffff_ffff_ffff_ffffn), user('nobody'), topic('t'), Buffer.concat([topic('t'), str(0x7a, 'unknown field 15')])].map((p) => Buffer.concat([p, serverId(PUSHED)]));
    assert.deepEqual(await push(batch(...unknown)), [unknown.length, 0, unknown.length]);
    assert.deepEqual(await push(batch(...Array.from({ length: 20_000 }, () => topicPush('t')))), [20_000, 0, 20_000], 'many pushes in one batch');
    for (const bytes of [Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0x0a, 0x05, 0x01]), batch(Buffer.from([0x09, 0x01]))]) {
      const answer = await push(bytes);
      assert.ok(answer instanceof Error, `${bytes.toString('hex')} is not a PushBatch: ${JSON.stringify(answer)}`);
      assert.equal(answer.code, grpc.status.INTERNAL);
    }
    assert.deepEqual(await push(batch(topicPush('t'))), [1, 0, 1], 'still answering');
    const scrape = await scrapeMetrics(gateway);
    assert.equal(scrape('actorgate_push_api_total', { outcome: 'invalid' }), invalid.length);
  });
});

describe('REFRESH tokens', () => {
  const hmac = makeKey('HS256', 'hs-1');
  let gateway: Gateway;

  before(async () => {
    gateway = await testGateway({ workers: 1, auth: { required: false, poolThreads: 1, jwt: { keys: [{ jwk: hmac.jwk, algorithms: ['HS256'] }] } } });
  });

  after(async () => {
    await gateway.close();
  });

  test('empty, over 8192 bytes, not UTF-8, or on an anonymous session: REFRESH_RESULT UNAUTHORIZED, and the session stays', async () => {
    const token = await sign(hmac, { sub: 'sam' });
    const authed = await connectClient(urlOf(gateway), { headers: { Authorization: `Bearer ${token}` } });
    const anonymous = await connectClient(urlOf(gateway));
    const refused = { type: 'refresh-result', code: Code.UNAUTHORIZED, expiresAt: 0 };
    for (const body of [Buffer.alloc(0), Buffer.alloc(8193, 0x61), Buffer.from([0xff, 0xfe, 0x2e]), Buffer.from('not.a.jwt')]) {
      authed.sendRaw(control(Control.REFRESH, body));
      assert.deepEqual(await authed.waitForControl('refresh-result'), refused, `${body.length} bytes`);
    }
    anonymous.sendRaw(control(Control.REFRESH, token));
    assert.deepEqual(await anonymous.waitForControl('refresh-result'), refused);
    authed.refresh(token);
    assert.equal((await authed.waitForControl('refresh-result')).code, 0);
    assert.equal((await metric(gateway, 'actorgate_auth_refresh_total', { outcome: 'invalid' })), 4);
    assert.equal((await metric(gateway, 'actorgate_auth_refresh_total', { outcome: 'missing' })), 1, 'the empty one, as at the upgrade');
    assert.equal(authed.controls.filter((c) => c.type === 'error').length, 0, 'no REFRESH is a protocol violation');
    assert.equal(authed.closeInfo, undefined);
    await Promise.all([authed.close(), anonymous.close()]);
  });
});
