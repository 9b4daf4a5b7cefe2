import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectClient, packServerId, startMockBackend } from '../../src/testkit/index.ts';
import type { MockBackend, ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { clientsOnEveryWorker, metric, scrapeMetrics, testGateway, urlOf, waitUntil } from './helpers.ts';
import type { MetricLabels, MetricsScrape } from './helpers.ts';
import { PushClient, httpPush } from './push-client.ts';

const TO_FAST = packServerId({ serverType: 1 });
const TO_SLOW = packServerId({ serverType: 2 });
const PUSHED = packServerId({ serverType: 9 });
const STAGES = ['queue', 'write', 'delivery', 'push'] as const;
const ENDPOINT_STAGES = ['queue', 'write', 'delivery'] as const;

const count = (m: MetricsScrape, stage: string, labels: MetricLabels = {}) =>
  m(`actorgate_stage_${stage}_seconds_count`, labels);
const sum = (m: MetricsScrape, stage: string, labels: MetricLabels = {}) =>
  m(`actorgate_stage_${stage}_seconds_sum`, labels);
/** Samples above `le` seconds (`le` one of the bucket bounds). */
const above = (m: MetricsScrape, stage: string, le: number, labels: MetricLabels = {}) =>
  count(m, stage, labels) - m(`actorgate_stage_${stage}_seconds_bucket`, { ...labels, le });

/** `rounds` round trips per client, one at a time: each message is echoed before the next is sent. */
async function roundTrips(clients: ProtocolClient[], rounds: number): Promise<void> {
  await Promise.all(clients.map(async (client) => {
    const before = client.frames.length;
    for (let i = 0; i < rounds; i++) {
      client.send(i, TO_FAST, `m${i}`);
      await client.waitForFrames(before + i + 1);
    }
  }));
}

async function pushEach(gateway: Gateway, pusher: PushClient, clients: ProtocolClient[]): Promise<void> {
  const pushes = (msgId: number) => clients.map((c) => ({ sessionId: c.sessionId, msgId, serverId: PUSHED }));
  const grpc = await pusher.push(pushes(1).map((p) => ({ ...p, payload: Buffer.from('grpc') })));
  assert.equal(grpc.delivered, clients.length);
  const http = await httpPush(gateway.adminPort!, { pushes: pushes(2) });
  assert.equal(http.summary.delivered, clients.length);
  for (const client of clients) await client.waitForFrame((f) => f.msgId === 2 && f.serverId === PUSHED);
}

describe('stage histograms, every message sampled', () => {
  let fast: MockBackend;
  let slow: MockBackend;
  let gateway: Gateway;
  let pusher: PushClient;
  let clients: ProtocolClient[];

  before(async () => {
    fast = await startMockBackend();
    slow = await startMockBackend();
    gateway = await testGateway({
      routes: [
        { serverType: 1, endpoints: [fast.endpoint] },
        { serverType: 2, endpoints: [slow.endpoint] },
      ],
      metrics: { stageSampleEvery: 1 },
      backend: { mailboxCapacity: 100_000 },
      limits: { messagesPerSecond: 0, bytesPerSecond: 0 },
    });
    await fast.waitForStreams(2);
    await slow.waitForStreams(2);
    pusher = new PushClient(gateway.pushPort!);
    clients = (await clientsOnEveryWorker(gateway, 2)).flat();
  });
  after(async () => {
    for (const client of clients) await client.close();
    pusher.close();
    await gateway.close();
    await fast.close();
    await slow.close();
  });

  test('/metrics counts each round trip once per stage and each push once, sums in a plausible range', async () => {
    const ROUNDS = 25;
    await roundTrips(clients, ROUNDS);
    await pushEach(gateway, pusher, clients);
    const m = await scrapeMetrics(gateway);
    const messages = clients.length * ROUNDS;
    const atFast = { endpoint: fast.endpoint };
    for (const stage of ENDPOINT_STAGES) {
      assert.equal(count(m, stage, atFast), messages, `${stage}: one sample per message`);
      assert.equal(m(`actorgate_stage_${stage}_seconds_bucket`, { ...atFast, le: '+Inf' }), messages);
      assert.equal(count(m, stage, { endpoint: slow.endpoint }), 0, `${stage}: nothing went to the other endpoint`);
    }
    // Both workers carried their own clients' messages.
    for (const worker of [0, 1]) {
      const mine = clients.filter((c) => c.worker === worker).length * ROUNDS;
      assert.equal(count(m, 'queue', { ...atFast, worker }), mine, `worker ${worker}`);
    }
    assert.equal(count(m, 'push'), 2 * clients.length, 'one sample per push (gRPC and HTTP), by the worker sending it');
    for (const stage of STAGES) {
      const mean = sum(m, stage) / count(m, stage);
      assert.ok(mean > 0 && mean < 0.05, `${stage}: mean ${(mean * 1e6).toFixed(0)} µs`);
      assert.equal(above(m, stage, 1), 0, `${stage}: nothing above 1 s`);
    }
  });

  test('a backend that stops reading shows in its write and queue stages, not in the other endpoint’s', async () => {
    const before = await scrapeMetrics(gateway);
    const client = clients[0]!;
    const atSlow = { worker: client.worker, endpoint: slow.endpoint };
    slow.stall();
    // Far more than the HTTP/2 and TCP windows hold: a write sticks and the rest waits in the mailbox behind it.
    const payload = Buffer.alloc(8 * 1024, 7);
    const SENT = 600;
    for (let i = 0; i < SENT; i++) client.send(i, TO_SLOW, payload);
    const queued = async () => (await metric(gateway, 'actorgate_backend_mailbox_depth', atSlow)) > 0;
    await waitUntil(queued, 10_000, 'messages queued behind a stuck write');
    // The stall's length is what the histograms should show.
    await sleep(400);
    slow.resume();
    const echoed = () => client.frames.filter((f) => f.serverId === TO_SLOW).length === SENT;
    await waitUntil(echoed, 20_000, 'every message echoed');
    const m = await scrapeMetrics(gateway);
    assert.equal(count(m, 'queue', atSlow), SENT);
    assert.equal(count(m, 'write', atSlow), SENT);
    assert.ok(above(m, 'write', 0.25, atSlow) >= 1, 'a write waited out the stall');
    assert.ok(above(m, 'queue', 0.25, atSlow) >= 1, 'messages waited in the mailbox behind it');
    const atFast = { endpoint: fast.endpoint };
    assert.equal(count(m, 'write', atFast), count(before, 'write', atFast), 'the other endpoint: no new samples');
    assert.equal(above(m, 'write', 0.25, atFast), 0, 'the other endpoint’s writes never waited');
  });
});

describe('stage histograms with sampling off', () => {
  let backend: MockBackend;
  let gateway: Gateway;
  let pusher: PushClient;

  before(async () => {
    backend = await startMockBackend();
    gateway = await testGateway({
      workers: 1,
      routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
      metrics: { stageSampleEvery: 0 },
    });
    pusher = new PushClient(gateway.pushPort!);
  });
  after(async () => {
    pusher.close();
    await gateway.close();
    await backend.close();
  });

  test('round trips and pushes record nothing, and the series are there at 0', async () => {
    const client = await connectClient(urlOf(gateway));
    await roundTrips([client], 50);
    await pushEach(gateway, pusher, [client]);
    const m = await scrapeMetrics(gateway);
    for (const stage of STAGES) {
      assert.deepEqual(m.samples(`actorgate_stage_${stage}_seconds_count`), [0], `${stage}: one series, at 0`);
    }
    await client.close();
  });
});
