import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, packServerId, startMockBackend } from '../../src/testkit/index.ts';
import type { MockBackend, ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { scrapeMetrics, testGateway, urlOf, waitUntil } from './helpers.ts';

const TO_BACKEND = packServerId({ serverType: 1 });
const GC = 'actorgate_worker_gc_seconds';

describe('per-worker GC pause histograms', () => {
  let backend: MockBackend;
  let gateway: Gateway;
  let client: ProtocolClient;

  before(async () => {
    backend = await startMockBackend();
    gateway = await testGateway({
      workers: 1,
      routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
      limits: { messagesPerSecond: 0, bytesPerSecond: 0 },
    });
    client = await connectClient(urlOf(gateway));
  });
  after(async () => {
    await client.close();
    await gateway.close();
    await backend.close();
  });

  test('traffic through a worker shows its scavenges in the minor series; both kinds are exported', async () => {
    const payload = Buffer.alloc(1024, 7);
    let sent = 0;
    // Bursts of echoed messages until the worker has collected its young generation at least once.
    const m = await waitUntil(async () => {
      for (let i = 0; i < 500; i++) client.send(sent++ & 0xffff, TO_BACKEND, payload);
      await client.waitForFrames(sent);
      const scrape = await scrapeMetrics(gateway);
      return scrape(`${GC}_count`, { worker: 0, kind: 'minor' }) > 0 ? scrape : undefined;
    }, 30_000, 'a minor GC counted on worker 0');
    const minor = { worker: 0, kind: 'minor' };
    assert.ok(m(`${GC}_sum`, minor) > 0, 'the pauses took time');
    assert.equal(m(`${GC}_bucket`, { ...minor, le: '+Inf' }), m(`${GC}_count`, minor));
    assert.deepEqual(m.samples(`${GC}_count`, { worker: 0, kind: 'major' }).length, 1, 'the major series, even at 0');
  });
});
