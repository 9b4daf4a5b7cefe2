import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { connectClient, packServerId, waitUntil, type ProtocolClient } from '../../src/testkit/index.ts';
import { actorgateV1 } from '../../src/backend/proto.ts';
import { generateApiKey, hashApiKey } from '../../src/core/api-keys.ts';
import type { Gateway } from '../../src/gateway.ts';
import type { PushInput } from '../../src/push/push-item.ts';
import { testGateway, urlOf } from './helpers.ts';

const PUSH_KEY_1 = generateApiKey();
const PUSH_KEY_2 = generateApiKey();
const ADMIN_KEY = generateApiKey();
const PUSHED = packServerId({ serverType: 9 });

interface Summary {
  accepted: number;
  delivered: number;
  dropped: number;
}

interface RawPushClient extends grpc.Client {
  Push(batch: unknown, metadata: grpc.Metadata, callback: (err: grpc.ServiceError | null, summary: Record<string, string>) => void): void;
  PushStream(metadata: grpc.Metadata, callback: (err: grpc.ServiceError | null, summary: Record<string, string>) => void): grpc.ClientWritableStream<unknown>;
}

type Outcome = { summary: Summary } | { error: grpc.ServiceError };

function metadataOf(entries: Record<string, string>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(entries)) metadata.set(name, value);
  return metadata;
}

const toSummary = (raw: Record<string, string>): Summary => ({ accepted: Number(raw.accepted), delivered: Number(raw.delivered), dropped: Number(raw.dropped) });

class KeyedPushClient {
  readonly #client: RawPushClient;

  constructor(port: number) {
    this.#client = new (actorgateV1().GatewayPush)(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as RawPushClient;
  }

  push(pushes: PushInput[], metadata: Record<string, string> = {}): Promise<Outcome> {
    return new Promise((resolve) => this.#client.Push({ pushes }, metadataOf(metadata), (error, raw) => resolve(error ? { error } : { summary: toSummary(raw) })));
  }

  stream(batches: PushInput[][], metadata: Record<string, string> = {}): Promise<Outcome> {
    return new Promise((resolve) => {
      const call = this.#client.PushStream(metadataOf(metadata), (error, raw) => resolve(error ? { error } : { summary: toSummary(raw) }));
      call.on('error', () => {}); // the refusal also reaches the callback
      for (const pushes of batches) call.write({ pushes });
      call.end();
    });
  }

  close(): void {
    this.#client.close();
  }
}

/** One HTTP request to the admin port; the body is parsed when it is JSON. */
async function http(gateway: Gateway, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; headers: Headers; json: Record<string, unknown> | undefined; text: string }> {
  const res = await fetch(`http://127.0.0.1:${gateway.adminPort}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = res.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  return { status: res.status, headers: res.headers, json, text };
}

/** `actorgate_api_key_refused_total` by api and reason, from /metrics read with `headers`. */
async function refusals(gateway: Gateway, headers: Record<string, string> = {}): Promise<Record<string, number>> {
  const { status, text } = await http(gateway, '/metrics', headers);
  assert.equal(status, 200);
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^actorgate_api_key_refused_total\{api="(\w+)",reason="(\w+)"\} (\d+)$/gm)) counts[`${match[1]}/${match[2]}`] = Number(match[3]);
  return counts;
}

function assertRefused(outcome: Outcome, name: 'API_KEY_REQUIRED' | 'API_KEY_INVALID'): void {
  assert.ok('error' in outcome, `refused, got ${JSON.stringify(outcome)}`);
  assert.equal(outcome.error.code, grpc.status.UNAUTHENTICATED);
  assert.match(outcome.error.details, new RegExp(`^${name === 'API_KEY_REQUIRED' ? 4521 : 4522} ${name}: `));
}

function assertHttpRefused(answer: Awaited<ReturnType<typeof http>>, name: 'API_KEY_REQUIRED' | 'API_KEY_INVALID'): void {
  assert.equal(answer.status, 401, answer.text);
  assert.equal(answer.json?.code, name === 'API_KEY_REQUIRED' ? 4521 : 4522);
  assert.equal(answer.json?.name, name);
  assert.equal(typeof answer.json?.reason, 'string');
  assert.match(answer.headers.get('www-authenticate') ?? '', name === 'API_KEY_INVALID' ? /^Bearer realm="actorgate", error="invalid_token"$/ : /^Bearer realm="actorgate"$/);
}

const text = (client: ProtocolClient) => client.frames.filter((f) => f.serverId === PUSHED).map((f) => f.payload.toString());

describe('API keys on the push and admin ports (push.apiKeys, admin.apiKeys)', () => {
  let gateway: Gateway;
  let pusher: KeyedPushClient;
  let client: ProtocolClient;
  const ADMIN = { 'x-api-key': ADMIN_KEY };
  const toClient = (payload: string): PushInput[] => [{ sessionId: client.sessionId, msgId: 3, serverId: PUSHED, payload: Buffer.from(payload) }];

  before(async () => {
    gateway = await testGateway({ push: { port: 0, apiKeys: [hashApiKey(PUSH_KEY_1), hashApiKey(PUSH_KEY_2)] }, admin: { port: 0, apiKeys: [hashApiKey(ADMIN_KEY)] } });
    pusher = new KeyedPushClient(gateway.pushPort!);
    client = await connectClient(urlOf(gateway));
  });
  after(async () => {
    pusher.close();
    await client.close();
    await gateway.close();
  });

  test('gRPC Push: no key or a wrong one is UNAUTHENTICATED with the code; either key, in either metadata form, pushes', async () => {
    assertRefused(await pusher.push(toClient('none')), 'API_KEY_REQUIRED');
    assertRefused(await pusher.push(toClient('wrong'), { 'x-api-key': `${PUSH_KEY_1}x` }), 'API_KEY_INVALID');
    assertRefused(await pusher.push(toClient('admin key'), { authorization: `Bearer ${ADMIN_KEY}` }), 'API_KEY_INVALID');
    assertRefused(await pusher.push(toClient('basic'), { authorization: `Basic ${Buffer.from(`u:${PUSH_KEY_1}`).toString('base64')}` }), 'API_KEY_INVALID');
    assert.deepEqual(await pusher.push(toClient('key 1'), { 'x-api-key': PUSH_KEY_1 }), { summary: { accepted: 1, delivered: 1, dropped: 0 } });
    assert.deepEqual(await pusher.push(toClient('key 2'), { authorization: `Bearer ${PUSH_KEY_2}` }), { summary: { accepted: 1, delivered: 1, dropped: 0 } });
    await waitUntil(() => text(client).length === 2, 5000, 'the two keyed pushes');
    assert.deepEqual(text(client), ['key 1', 'key 2']);
  });

  test('gRPC PushStream is refused at its start without a valid key, and nothing written on it is delivered', async () => {
    assertRefused(await pusher.stream([toClient('stream none'), toClient('stream none 2')]), 'API_KEY_REQUIRED');
    assertRefused(await pusher.stream([toClient('stream wrong')], { authorization: 'Bearer nope' }), 'API_KEY_INVALID');
    assert.deepEqual(await pusher.stream([toClient('stream 1'), toClient('stream 2')], { authorization: `Bearer ${PUSH_KEY_1}` }), { summary: { accepted: 2, delivered: 2, dropped: 0 } });
    await waitUntil(() => text(client).includes('stream 2'), 5000, 'the keyed stream');
    assert.ok(!text(client).some((t) => t.startsWith('stream none') || t === 'stream wrong'), text(client).join(', '));
  });

  test('POST /v1/push: 401 with a JSON body naming the code and a Bearer challenge; a push key in either header pushes', async () => {
    const body = { pushes: toClient('http').map((p) => ({ ...p, payload: Buffer.from('http').toString('base64') })) };
    assertHttpRefused(await http(gateway, '/v1/push', {}, body), 'API_KEY_REQUIRED');
    assertHttpRefused(await http(gateway, '/v1/push', { 'x-api-key': 'wrong' }, body), 'API_KEY_INVALID');
    assertHttpRefused(await http(gateway, '/v1/push', ADMIN, body), 'API_KEY_INVALID');
    const viaHeader = await http(gateway, '/v1/push', { 'x-api-key': PUSH_KEY_2 }, body);
    assert.equal(viaHeader.status, 200, viaHeader.text);
    assert.deepEqual(viaHeader.json, { accepted: 1, delivered: 1, dropped: 0 });
    const viaBearer = await http(gateway, '/v1/push', { authorization: `Bearer ${PUSH_KEY_1}` }, body);
    assert.deepEqual(viaBearer.json, { accepted: 1, delivered: 1, dropped: 0 });
  });

  test('admin: /health stays open, /ready without a key says only whether it is ready, /metrics needs the admin key', async () => {
    const health = await http(gateway, '/health');
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { status: 'ok' });
    const probe = await http(gateway, '/ready');
    assert.equal(probe.status, 200);
    assert.deepEqual(probe.json, { ready: true });
    const detailed = await http(gateway, '/ready', { authorization: `Bearer ${ADMIN_KEY}` });
    assert.equal(detailed.status, 200);
    assert.equal((detailed.json?.workers as unknown[]).length, 2);
    assertHttpRefused(await http(gateway, '/ready', { 'x-api-key': PUSH_KEY_1 }), 'API_KEY_INVALID');
    assertHttpRefused(await http(gateway, '/metrics'), 'API_KEY_REQUIRED');
    assertHttpRefused(await http(gateway, '/metrics', { 'x-api-key': PUSH_KEY_1 }), 'API_KEY_INVALID');
    assert.equal((await http(gateway, '/v1/push')).status, 405, 'a wrong method is answered before the key is checked');
    assert.equal((await http(gateway, '/nowhere')).status, 404);
    const metrics = await http(gateway, '/metrics', ADMIN);
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^actorgate_sessions\{/m);
  });

  test('every refusal is counted in actorgate_api_key_refused_total{api,reason}', async () => {
    const before = await refusals(gateway, ADMIN);
    assert.deepEqual(Object.keys(before).sort(), ['admin/invalid', 'admin/missing', 'push/invalid', 'push/missing']);
    assertRefused(await pusher.push(toClient('x')), 'API_KEY_REQUIRED');
    assertRefused(await pusher.stream([toClient('x')], { 'x-api-key': 'bad' }), 'API_KEY_INVALID');
    assertHttpRefused(await http(gateway, '/v1/push', {}, { topic: 'x', payload: '' }), 'API_KEY_REQUIRED');
    assertHttpRefused(await http(gateway, '/metrics', { 'x-api-key': 'bad' }), 'API_KEY_INVALID');
    assertHttpRefused(await http(gateway, '/metrics'), 'API_KEY_REQUIRED');
    assertHttpRefused(await http(gateway, '/metrics'), 'API_KEY_REQUIRED');
    assert.deepEqual(await http(gateway, '/ready').then((r) => r.json), { ready: true }, 'a keyless probe is not a refusal');
    const after = await refusals(gateway, { authorization: `Bearer ${ADMIN_KEY}` });
    const delta = Object.fromEntries(Object.entries(after).map(([series, value]) => [series, value - before[series]!]));
    assert.deepEqual(delta, { 'push/missing': 2, 'push/invalid': 1, 'admin/missing': 2, 'admin/invalid': 1 });
  });
});

describe('admin.apiKeys alone', () => {
  test('keys POST /v1/push on the admin port too, and leaves the gRPC push port open', async () => {
    const gateway = await testGateway({ admin: { port: 0, apiKeys: [hashApiKey(ADMIN_KEY)] } });
    const pusher = new KeyedPushClient(gateway.pushPort!);
    try {
      const body = { topic: 'nobody', payload: '' };
      assertHttpRefused(await http(gateway, '/v1/push', {}, body), 'API_KEY_REQUIRED');
      assertHttpRefused(await http(gateway, '/v1/push', { 'x-api-key': PUSH_KEY_1 }, body), 'API_KEY_INVALID');
      assert.equal((await http(gateway, '/v1/push', { 'x-api-key': ADMIN_KEY }, body)).status, 200);
      assert.deepEqual(await pusher.push([{ topic: 'nobody', msgId: 1, serverId: PUSHED }]), { summary: { accepted: 1, delivered: 0, dropped: 1 } });
      assert.deepEqual(await refusals(gateway, { 'x-api-key': ADMIN_KEY }), { 'push/missing': 1, 'push/invalid': 1, 'admin/missing': 0, 'admin/invalid': 0 });
    } finally {
      pusher.close();
      await gateway.close();
    }
  });
});

describe('no apiKeys', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'actorgate-keys-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('every endpoint answers as before, a key or none; a port bound beyond loopback is logged as a warning', async () => {
    const log = join(dir, 'gateway.log');
    const gateway = await testGateway({ admin: { host: '0.0.0.0', port: 0 }, push: { host: '0.0.0.0', port: 0 }, log: { level: 'warn', destination: log } });
    const pusher = new KeyedPushClient(gateway.pushPort!);
    const client = await connectClient(urlOf(gateway));
    try {
      const push = (payload: string): PushInput[] => [{ sessionId: client.sessionId, msgId: 3, serverId: PUSHED, payload: Buffer.from(payload) }];
      assert.deepEqual(await pusher.push(push('open')), { summary: { accepted: 1, delivered: 1, dropped: 0 } });
      assert.deepEqual(await pusher.push(push('any key'), { 'x-api-key': 'whatever' }), { summary: { accepted: 1, delivered: 1, dropped: 0 } });
      assert.deepEqual(await pusher.stream([push('stream')]), { summary: { accepted: 1, delivered: 1, dropped: 0 } });
      assert.deepEqual((await http(gateway, '/v1/push', {}, { topic: 'nobody', serverId: 256, payload: '' })).json, { accepted: 1, delivered: 0, dropped: 1 });
      const ready = await http(gateway, '/ready');
      assert.equal((ready.json?.workers as unknown[]).length, 2, 'the worker list needs no key');
      assert.deepEqual(await refusals(gateway), { 'push/missing': 0, 'push/invalid': 0, 'admin/missing': 0, 'admin/invalid': 0 });
      await waitUntil(() => readFileSync(log, 'utf8').includes('without admin.apiKeys'), 5000, 'the admin warning');
      const lines = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { level: number; msg: string });
      const warned = lines.filter((line) => line.level === 40).map((line) => line.msg);
      assert.ok(warned.some((msg) => /the push port listens beyond loopback without push\.apiKeys/.test(msg)), warned.join('\n'));
      assert.ok(warned.some((msg) => /the admin port listens beyond loopback without admin\.apiKeys: \/ready, \/metrics and POST \/v1\/push/.test(msg)), warned.join('\n'));
    } finally {
      pusher.close();
      await client.close();
      await gateway.close();
    }
  });
});

describe('the actorgate command', () => {
  const bin = fileURLToPath(new URL('../../bin/actorgate.js', import.meta.url));
  const actorgate = (args: string[], input?: string) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, [bin, ...args], (err, stdout) => resolve({ code: err === null ? 0 : Number(err.code), stdout }));
      child.stdin!.end(input ?? '');
    });

  test('hash-key makes a key whose hash a gateway takes; --stdin hashes a piped key', async () => {
    const made = await actorgate(['hash-key']);
    assert.equal(made.code, 0);
    const [, key, hash] = /^key {3}(\S+)\nhash {2}(\S+)\n$/.exec(made.stdout)!;
    const piped = await actorgate(['hash-key', '--stdin'], `${key}\n`);
    assert.deepEqual(piped, { code: 0, stdout: `${hash}\n` });
    const gateway = await testGateway({ push: { port: 0, apiKeys: [hash!] } });
    const pusher = new KeyedPushClient(gateway.pushPort!);
    try {
      assert.ok('summary' in (await pusher.push([{ topic: 't', msgId: 1, serverId: PUSHED }], { 'x-api-key': key! })));
      assertRefused(await pusher.push([{ topic: 't', msgId: 1, serverId: PUSHED }]), 'API_KEY_REQUIRED');
    } finally {
      pusher.close();
      await gateway.close();
    }
  });
});
