import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, connectClient, packServerId, startMockBackend, waitUntil, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import { PacketKind } from '../../src/backend/proto.ts';
import type { Gateway } from '../../src/gateway.ts';
import { testGateway, urlOf } from './helpers.ts';

function dataFrom(backend: MockBackend, client: ProtocolClient): number {
  return backend.packets.filter((p) => p.sessionId === client.sessionId && p.kind === PacketKind.DATA).length;
}

describe('routing and session lifecycle against several real backends', () => {
  let b1: MockBackend;
  let b2: MockBackend;
  let world7: MockBackend;
  let legacy: MockBackend;
  let gateway: Gateway;

  before(async () => {
    [b1, b2, world7] = await Promise.all([startMockBackend(), startMockBackend(), startMockBackend()]);
    legacy = await startMockBackend({ unimplementedNotify: true });
    gateway = await testGateway({
      routes: [
        { serverType: 1, endpoints: [b1.endpoint, b2.endpoint], strategy: 'round-robin', notify: true },
        { serverType: 1, worldId: 7, endpoints: [world7.endpoint] },
        { serverType: 2, endpoints: [b1.endpoint, b2.endpoint], strategy: 'consistent-hash' },
        { serverType: 3, endpoints: [legacy.endpoint], notify: true },
      ],
    });
  });
  after(async () => {
    await gateway.close();
    await Promise.all([b1, b2, world7, legacy].map((b) => b.close()));
  });

  test('round-robin spreads sessions over endpoints; each session sticks to the endpoint of its first message', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => connectClient(urlOf(gateway))));
    for (const client of clients) for (let i = 0; i < 5; i++) client.send(i, packServerId({ serverType: 1, instId: i }), `x${i}`);
    await Promise.all(clients.map((c) => c.waitForFrames(5)));
    let onB1 = 0;
    for (const client of clients) {
      const [n1, n2] = [dataFrom(b1, client), dataFrom(b2, client)];
      assert.ok((n1 === 5 && n2 === 0) || (n1 === 0 && n2 === 5), `session ${client.sessionId} stuck to one endpoint (${n1}/${n2})`);
      if (n1 === 5) onB1++;
    }
    // Round-robin per worker: 8 sessions over 2 workers and 2 endpoints land on both endpoints.
    assert.ok(onB1 > 0 && onB1 < 8, `both endpoints used (${onB1} of 8 on the first)`);
    await Promise.all(clients.map((c) => c.close()));
  });

  test('the most specific rule wins: worldId 7 goes to its own backend', async () => {
    const client = await connectClient(urlOf(gateway));
    client.send(1, packServerId({ serverType: 1, worldId: 7 }), 'w7');
    client.send(2, packServerId({ serverType: 1, worldId: 8 }), 'w8');
    await client.waitForFrames(2);
    assert.equal(dataFrom(world7, client), 1);
    assert.equal(dataFrom(b1, client) + dataFrom(b2, client), 1);
    await client.close();
  });

  test('consistent-hash sends the same session to the same endpoint; both endpoints get sessions', async () => {
    const clients = await Promise.all(Array.from({ length: 12 }, () => connectClient(urlOf(gateway))));
    for (const client of clients) for (let i = 0; i < 3; i++) client.send(i, packServerId({ serverType: 2 }), `h${i}`);
    await Promise.all(clients.map((c) => c.waitForFrames(3)));
    const counts = clients.map((c) => [dataFrom(b1, c), dataFrom(b2, c)]);
    assert.ok(counts.every(([n1, n2]) => (n1 === 3 && n2 === 0) || (n1 === 0 && n2 === 3)));
    const onB1 = counts.filter(([n1]) => n1 === 3).length;
    assert.ok(onB1 > 0 && onB1 < 12, `hashing used both endpoints (${onB1} of 12 on the first)`);
    await Promise.all(clients.map((c) => c.close()));
  });

  test('NotifyConnect/NotifyDisconnect are called for notify routes; UNIMPLEMENTED is tolerated', async () => {
    const client = await connectClient(urlOf(gateway));
    client.send(1, packServerId({ serverType: 1 }), 'n');
    client.send(1, packServerId({ serverType: 3 }), 'legacy');
    await client.waitForFrames(2);
    const bound = dataFrom(b1, client) === 1 ? b1 : b2;
    await waitUntil(() => bound.notifications.some((n) => n.type === 'connect' && n.event.sessionId === client.sessionId), 5000, 'NotifyConnect');
    await client.close();
    await waitUntil(() => bound.notifications.some((n) => n.type === 'disconnect' && n.event.sessionId === client.sessionId), 5000, 'NotifyDisconnect');
    const connect = bound.notifications.find((n) => n.type === 'connect' && n.event.sessionId === client.sessionId)!;
    assert.equal(connect.event.gateName, `it/${client.worker}`);
    // The legacy backend answered UNIMPLEMENTED; its stream traffic was unaffected and the session ended normally.
    await legacy.waitFor((p) => p.sessionId === client.sessionId && p.kind === PacketKind.CLOSE);
    assert.ok(legacy.notifications.some((n) => n.type === 'connect'));
  });
});

describe('drain', () => {
  test('clients get DRAIN, new connections are refused, and the gateway closes once clients leave', async () => {
    const backend = await startMockBackend();
    const gateway = await testGateway({ routes: [{ serverType: 1, endpoints: [backend.endpoint] }] });
    const clients = await Promise.all(Array.from({ length: 4 }, () => connectClient(urlOf(gateway))));
    for (const client of clients) client.send(1, packServerId({ serverType: 1 }), 'x');
    await Promise.all(clients.map((c) => c.waitForFrames(1)));

    const drained = gateway.drain({ reconnectAfterMs: 250, url: 'ws://elsewhere/', timeoutMs: 10_000, windowMs: 0 });
    for (const client of clients) {
      const drain = await client.waitForControl('drain');
      assert.deepEqual(drain, { type: 'drain', reconnectAfterMs: 250, url: 'ws://elsewhere/' });
    }
    await assert.rejects(connectClient(urlOf(gateway), { connectTimeoutMs: 2000 }));
    assert.equal(gateway.workers().every((w) => w.state === 'draining'), true);
    for (const client of clients) await client.close();
    await drained;
    // Every session's CLOSE reached the backend before the streams closed.
    for (const client of clients) assert.ok(backend.packets.some((p) => p.sessionId === client.sessionId && p.kind === PacketKind.CLOSE));
    await backend.close();
  });

  test('clients still connected at the drain deadline are closed with DRAINED', async () => {
    const backend = await startMockBackend();
    const gateway = await testGateway({ routes: [{ serverType: 1, endpoints: [backend.endpoint] }] });
    const stayer = await connectClient(urlOf(gateway));
    stayer.send(1, packServerId({ serverType: 1 }), 'x');
    await stayer.waitForFrames(1);
    await gateway.drain({ timeoutMs: 300 });
    assert.equal((await stayer.closed).code, Code.DRAINED);
    assert.ok(backend.packets.some((p) => p.sessionId === stayer.sessionId && p.kind === PacketKind.CLOSE && p.code === Code.DRAINED));
    await backend.close();
  });
});
