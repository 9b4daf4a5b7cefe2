import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectClient, injectWorkerFault, packServerId, ProtocolClient } from '../../src/testkit/index.ts';
import { startMockBackend, waitUntil } from '../../src/testkit/index.ts';
import type { MockBackend } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { scrapeMetrics, testGateway, urlOf } from './helpers.ts';

const GAME = packServerId({ serverType: 1 });
const PUSHED = packServerId({ serverType: 2 });

interface AccessLine {
  openedAt: string;
  closedAt: string;
  durationMs: number;
  remote: string;
  path: string;
  user: string | null;
  worker: number;
  session: string;
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  code: number;
  reason: string;
}

let dir: string;
let backend: MockBackend;
/** Shared by the tests that need no shutdown and no tiny bound; they read its file. */
let gateway: Gateway;
let file: string;

function accessLines(path: string): AccessLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AccessLine);
}

async function pushToTopic(topic: string, payload: string): Promise<void> {
  const body = { pushes: [{ topic, msgId: 9, serverId: PUSHED, payload: Buffer.from(payload).toString('base64') }] };
  const response = await fetch(`http://127.0.0.1:${gateway.adminPort}/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200);
}

function lineOf(path: string, session: string): Promise<AccessLine> {
  return waitUntil(() => accessLines(path).find((line) => line.session === session), 5000, `session ${session}'s line`);
}

function gatewayLogging(destination: string, accessLog: Record<string, number> = {}, faultInjection = false) {
  return testGateway({
    workers: 1,
    faultInjection,
    routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
    topics: { allow: ['room.*'] },
    accessLog: { destination, flushIntervalMs: 10, ...accessLog },
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'actorgate-access-log-'));
  backend = await startMockBackend();
  file = join(dir, 'shared.log');
  gateway = await gatewayLogging(file);
});

after(async () => {
  await gateway.close();
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a closed connection leaves a line: address, path, ids, counts each way, close code and times', async () => {
  const client = new ProtocolClient(urlOf(gateway, '/play?room=7'));
  const got = { frames: 0, bytes: 0 };
  client.ws.on('message', (data: Buffer) => {
    got.frames++;
    got.bytes += data.length;
  });
  const sent = { frames: 0, bytes: 0 };
  const send = client.ws.send.bind(client.ws);
  client.ws.send = ((data: Uint8Array, ...rest: never[]) => {
    sent.frames++;
    sent.bytes += data.byteLength;
    return send(data, ...rest);
  }) as typeof client.ws.send;
  const before = Date.now();
  await client.connected();
  const payloads = ['a', 'bb', 'a longer payload', ''];
  for (const [i, payload] of payloads.entries()) client.send(i + 1, GAME, payload);
  client.heartbeat(new Uint8Array(5));
  // WELCOME, the echo of each message, the heartbeat's answer.
  await waitUntil(() => got.frames === 1 + payloads.length + 1, 5000, 'every reply');
  backend.bindUser(client.sessionId, 'player-7');
  // Topic publishes reach the session while it holds the topic, up to its close or its UNSUBSCRIBE.
  for (const topic of ['room.7', 'room.8']) {
    client.subscribe(topic);
    const results = topic === 'room.7' ? 1 : 2;
    await waitUntil(() => client.controls.filter((c) => c.type === 'subscribe-result').length === results);
  }
  await pushToTopic('room.7', 'to room 7');
  await pushToTopic('room.8', 'to room 8, a longer one');
  await waitUntil(() => got.frames === 1 + payloads.length + 1 + 2 + 2, 5000, 'both topic pushes');
  client.unsubscribe('room.8');
  await client.waitForControl('unsubscribe-result');
  await pushToTopic('room.8', 'nobody holds room 8 now');
  await pushToTopic('room.7', 'the last one');
  await waitUntil(() => got.frames === 1 + payloads.length + 1 + 2 + 2 + 1 + 1, 5000, 'the last push');
  await client.close(4001, 'bye now');
  const line = await lineOf(file, client.sessionId);
  const after = Date.now();

  const fields = ['openedAt', 'closedAt', 'durationMs', 'remote', 'path', 'user', 'worker', 'session'];
  fields.push('framesIn', 'bytesIn', 'framesOut', 'bytesOut', 'code', 'reason');
  assert.deepEqual(Object.keys(line), fields);
  assert.equal(line.remote, '127.0.0.1');
  assert.equal(line.path, '/play');
  assert.equal(line.user, 'player-7', "the backend's BIND_USER");
  assert.equal(line.worker, client.worker);
  assert.deepEqual([line.framesIn, line.bytesIn], [sent.frames, sent.bytes]);
  assert.equal(line.framesIn, payloads.length + 1 + 3);
  assert.deepEqual([line.framesOut, line.bytesOut], [got.frames, got.bytes]);
  assert.deepEqual([line.code, line.reason], [4001, 'bye now']);
  const opened = Date.parse(line.openedAt);
  const closed = Date.parse(line.closedAt);
  assert.ok(before - 5 <= opened && opened <= closed && closed <= after + 5, `${line.openedAt} … ${line.closedAt}`);
  assert.equal(line.durationMs, closed - opened);
  const scrape = await scrapeMetrics(gateway);
  assert.equal(scrape('actorgate_access_log_written_total'), 1);
  assert.equal(scrape('actorgate_access_log_dropped_total'), 0);
});

test('several connections give a line each; those open at shutdown are written before the gateway ends', async () => {
  const closing = join(dir, 'several.log');
  const own = await gatewayLogging(closing);
  const clients = await Promise.all(Array.from({ length: 6 }, () => connectClient(urlOf(own))));
  for (const client of clients.slice(0, 3)) await client.close(1000, 'done');
  await waitUntil(() => accessLines(closing).length === 3, 5000, 'three lines');
  await own.close();

  const lines = accessLines(closing);
  assert.deepEqual(lines.map((line) => line.session).sort(), clients.map((client) => client.sessionId).sort());
  assert.deepEqual(lines.slice(0, 3).map((line) => line.reason), ['done', 'done', 'done']);
  for (const line of lines.slice(3)) assert.deepEqual([line.code, line.reason], [4001, 'gateway shutting down']);
});

test('a worker that fails writes the lines it held on its way out', async () => {
  const failing = join(dir, 'failing.log');
  // No timer write and no full batch before the fault: only the way out can write these lines.
  const own = await gatewayLogging(failing, { flushIntervalMs: 60_000 }, true);
  try {
    const left = await connectClient(urlOf(own));
    await left.close(1000, 'left before');
    const victim = await connectClient(urlOf(own));
    injectWorkerFault(own, 0);
    victim.send(1, GAME, 'this message hits the injected fault');
    assert.equal((await victim.closed).code, 4000);
    const lines = await waitUntil(() => (accessLines(failing).length === 2 ? accessLines(failing) : undefined), 5000);
    assert.deepEqual(lines.map((line) => [line.session, line.reason]), [
      [left.sessionId, 'left before'],
      [victim.sessionId, 'worker failed'],
    ]);
  } finally {
    await own.close();
  }
});

test('a file renamed away (log rotation) is reopened: later lines go to a new file at the path', async () => {
  const first = await connectClient(urlOf(gateway));
  await first.close();
  await lineOf(file, first.sessionId);
  renameSync(file, `${file}.1`);
  const second = await connectClient(urlOf(gateway));
  await second.close();
  await lineOf(file, second.sessionId);
  assert.deepEqual(accessLines(`${file}.1`).map((line) => line.session).at(-1), first.sessionId);
  assert.deepEqual(accessLines(file).map((line) => line.session), [second.sessionId]);
});

test('past accessLog.maxBufferLines lines are dropped and counted: written + dropped = connections', async () => {
  const tiny = join(dir, 'tiny.log');
  const own = await gatewayLogging(tiny, { maxBufferLines: 1 });
  try {
    const clients = await Promise.all(Array.from({ length: 60 }, () => connectClient(urlOf(own))));
    // Closed all at once: the closes reach each worker in the same few turns of its loop, faster than one write.
    await Promise.all(clients.map((client) => client.close()));
    const counts = await waitUntil(async () => {
      const scrape = await scrapeMetrics(own);
      const written = scrape('actorgate_access_log_written_total');
      const dropped = scrape('actorgate_access_log_dropped_total');
      return written + dropped === clients.length ? { written, dropped } : undefined;
    }, 5000, 'every line written or dropped');
    assert.ok(counts.dropped > 0, 'some lines were dropped');
    assert.equal(accessLines(tiny).length, counts.written);
  } finally {
    await own.close();
  }
});
