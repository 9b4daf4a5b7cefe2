import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, connectClient, injectWorkerFault, packServerId, startMockBackend, waitUntil, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { clientsOnEveryWorker, metric, testGateway, urlOf } from './helpers.ts';

const GAME = packServerId({ serverType: 1 });

let backend: MockBackend;
let gateway: Gateway;

before(async () => {
  backend = await startMockBackend();
  gateway = await testGateway({
    routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
    faultInjection: true,
    restart: { initialMs: 50, maxMs: 1000 },
  });
});

after(async () => {
  await gateway.close();
  await backend.close();
});

async function echo(client: ProtocolClient, text: string): Promise<void> {
  client.send(3, GAME, text);
  const frame = await client.waitForFrame((f) => f.payload.toString() === text, 5000);
  assert.equal(frame.msgId, 3);
}

test('an uncaught exception in one worker ends only its sessions; the supervisor restarts it; the rest keep working', async () => {
  const [onZero, onOne] = await clientsOnEveryWorker(gateway, 3);
  for (const client of [...onZero!, ...onOne!]) await echo(client, `before ${client.sessionId}`);

  injectWorkerFault(gateway, 0);
  onZero![0]!.send(1, GAME, 'this message hits the injected bug');

  // Every session of worker 0 ends (4000 when the close frame made it out, 1006 when the app closed first).
  for (const client of onZero!) {
    const { code } = await client.closed;
    assert.ok(code === Code.INTERNAL_ERROR || code === 1006, `worker 0 session closed with ${code}`);
  }
  // Worker 1's sessions never noticed.
  for (const client of onOne!) {
    assert.ok(client.isOpen);
    await echo(client, `during ${client.sessionId}`);
  }

  await waitUntil(() => gateway.workers()[0]!.state === 'running' && gateway.workers()[0]!.restarts === 1, 10_000, 'worker 0 restarted');
  assert.equal(gateway.workers()[1]!.restarts, 0);
  assert.equal(await metric(gateway, 'actorgate_worker_restarts', { worker: 0 }), 1);

  // New connections land on both workers again and work end to end; ids stay unique across the restart.
  const placed = await clientsOnEveryWorker(gateway, 1);
  const fresh = placed[0]![0]!;
  await echo(fresh, 'after restart');
  assert.ok(!onZero!.some((c) => c.sessionId === fresh.sessionId));
  for (const client of onOne!) await echo(client, `after ${client.sessionId}`);

  for (const client of [...onOne!, ...placed.flat()]) await client.close();
});

test('a worker that fails during drain comes back draining: it accepts no new connections and /ready stays 503', async () => {
  const drainBackend = await startMockBackend();
  const draining = await testGateway({
    routes: [{ serverType: 1, endpoints: [drainBackend.endpoint] }],
    faultInjection: true,
    restart: { initialMs: 50, maxMs: 1000 },
  });
  const [onZero, onOne] = await clientsOnEveryWorker(draining, 1);
  const drained = draining.drain({ timeoutMs: 20_000 });
  await onZero![0]!.waitForControl('drain');
  injectWorkerFault(draining, 0);
  onZero![0]!.send(1, GAME, 'bug');
  await onZero![0]!.closed;
  await waitUntil(() => draining.workers()[0]!.restarts === 1 && draining.workers()[0]!.state === 'draining', 10_000, 'worker 0 back, draining');
  await assert.rejects(connectClient(urlOf(draining), { connectTimeoutMs: 2000 }));
  const ready = await fetch(`http://127.0.0.1:${draining.adminPort}/ready`);
  assert.equal(ready.status, 503);
  for (const client of onOne!) await client.close();
  await drained;
  await drainBackend.close();
});
