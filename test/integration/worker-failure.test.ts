import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, connectClient, injectWorkerFault, packServerId, startMockBackend, waitUntil, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { pino } from 'pino';
import { WORKER_SLOTS } from '../../src/core/counters.ts';
import { resolveConfig } from '../../src/core/options.ts';
import { WorkerHandle } from '../../src/supervisor/worker-handle.ts';
import { withDeadline } from '../../src/testkit/wait.ts';
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

test('a worker wedged while closing, its uWS app still open, is left running rather than terminated (which would abort the process)', async () => {
  // A stand-in worker thread: a real uWS app listening, and a close handler whose loop blocks until the test opens
  // a gate in shared memory (the first slot of endpoint 0 in its counter buffer, unused here).
  const gateIndex = WORKER_SLOTS * 2; // Int32 index of byte 8 * WORKER_SLOTS
  const uws = import.meta.resolve('uWebSockets.js');
  const script = `(async () => {
    const { parentPort, workerData } = await import('node:worker_threads');
    const uWS = (await import(${JSON.stringify(uws)})).default;
    const gate = new Int32Array(workerData.counters);
    const app = uWS.App();
    app.listen('127.0.0.1', 0, (socket) => parentPort.postMessage({ type: 'listening', port: uWS.us_socket_local_port(socket) }));
    parentPort.on('message', (command) => {
      if (command.type !== 'close') return;
      Atomics.wait(gate, ${gateIndex}, 0); // wedged: no timer, no message runs in this thread until the gate opens
      app.close();
      parentPort.postMessage({ type: 'closed' });
    });
  })();`;
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const handle = new WorkerHandle(0, 1, logger);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    void handle
      .spawn({ script }, resolveConfig({}), 0, {
        onUnexpectedExit: () => {},
        onExit: () => {
          exited = true;
          resolve();
        },
        onPushResult: () => {},
      })
      .then((port) => assert.ok(port > 0));
  });
  await waitUntil(() => handle.state === 'running', 10_000, 'the stand-in worker to listen');

  await withDeadline(handle.close(0, 300, Code.SHUTDOWN), 10_000, 'close() to give up on the wedged worker');
  assert.equal(handle.state, 'stopped');
  assert.equal(exited, false, 'the wedged thread was not ended (its app is still open)');
  assert.ok(lines.some((line) => line.includes('did not report its app closed')), 'the abandoned worker is logged');

  // The worker recovers: it closes its app and reports it, and only then is the thread ended. The process survives.
  const gate = new Int32Array(handle.counterBuffer);
  Atomics.store(gate, gateIndex, 1);
  Atomics.notify(gate, gateIndex);
  await withDeadline(exit, 10_000, 'the recovered worker to end');
  assert.equal(handle.state, 'stopped');
});
