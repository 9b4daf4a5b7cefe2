import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, PacketKind, connectClient, packServerId, startMockBackend, waitUntil } from '../../src/testkit/index.ts';
import { metric, testGateway, urlOf } from './helpers.ts';

const GAME = packServerId({ serverType: 1 });
const BUFFER_LIMIT = 64 * 1024;
const MESSAGE = 4096;

test('a client that never reads: its buffer stays bounded, overflow is dropped and counted, then it is closed as a slow consumer; others stay fast', async () => {
  await using backend = await startMockBackend();
  await using gateway = await testGateway({
    routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
    limits: { clientSendBufferBytes: BUFFER_LIMIT, slowConsumerGraceMs: 300 },
  });
  const slow = await connectClient(urlOf(gateway), { read: false });
  const fast = await connectClient(urlOf(gateway));
  slow.send(1, GAME, 'hello');
  fast.send(1, GAME, 'hello');
  await backend.waitFor((p) => p.sessionId === slow.sessionId && p.kind === PacketKind.DATA);
  await fast.waitForFrames(1);

  // 12 MiB towards the slow client: far past its 64 KiB buffer plus what the kernel's socket buffers take.
  const payload = Buffer.alloc(MESSAGE, 2);
  const TOTAL = 3000;
  let pushed = 0;
  for (let i = 0; i < TOTAL; i += 100) {
    // The gateway may close the slow session mid-burst (that is the point); stop pushing once it has.
    for (let j = i; j < i + 100 && backend.sessions.has(slow.sessionId); j++, pushed++) backend.sendData(slow.sessionId, 2, GAME, payload);
    fast.send(3, GAME, `round ${i}`);
    await fast.waitForFrame((f) => f.payload.toString() === `round ${i}`, 5000);
  }
  const labels = { worker: slow.worker };
  await waitUntil(async () => (await metric(gateway, 'actorgate_slow_consumer_closes_total', labels)) === 1, 10_000, 'the slow consumer to be closed');
  const dropped = await metric(gateway, 'actorgate_client_send_dropped_total', labels);
  const peak = await metric(gateway, 'actorgate_client_send_buffer_peak_bytes', labels);
  assert.ok(dropped > 0 && dropped + 8 + Math.ceil((8 * 1024 * 1024) / MESSAGE) >= pushed, `what did not fit was dropped and counted (${dropped} of ${pushed})`);
  assert.ok(peak <= BUFFER_LIMIT + MESSAGE + 8, `peak send buffer ${peak} stayed within the bound`);
  // The backend learned why the session ended. The client stopped reading entirely, so the close frame itself does
  // not fit its buffer: it sees 4004 if it fits by then, else the connection drop (1006).
  const close = await backend.waitFor((p) => p.sessionId === slow.sessionId && p.kind === PacketKind.CLOSE);
  assert.equal(close.code, Code.SLOW_CONSUMER);
  slow.resumeReading();
  assert.ok([Code.SLOW_CONSUMER, 1006].includes((await slow.closed).code));
  assert.ok(fast.isOpen);
  await fast.close();
});

test('a client that stops answering is closed with IDLE_TIMEOUT and its backends get CLOSE; one that answers pings stays', async () => {
  await using backend = await startMockBackend();
  await using gateway = await testGateway({
    routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
    limits: { idleTimeoutMs: 600, pingIntervalMs: 200 },
  });
  const dead = await connectClient(urlOf(gateway));
  const alive = await connectClient(urlOf(gateway));
  for (const client of [dead, alive]) client.send(1, GAME, 'hi');
  await dead.waitForFrames(1);
  await alive.waitForFrames(1);
  dead.pauseReading(); // no more pongs, no messages: dead as far as the gateway can tell

  const close = await backend.waitFor((p) => p.sessionId === dead.sessionId && p.kind === PacketKind.CLOSE, 10_000);
  assert.equal(close.code, Code.IDLE_TIMEOUT);
  assert.equal(await metric(gateway, 'actorgate_idle_closes_total'), 1);
  // The live client was silent just as long but answered the gateway's pings.
  assert.ok(alive.isOpen);
  alive.send(2, GAME, 'still here');
  await alive.waitForFrame((f) => f.msgId === 2);
  dead.resumeReading();
  assert.equal((await dead.closed).code, Code.IDLE_TIMEOUT);
  await alive.close();
});
