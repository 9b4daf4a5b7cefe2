import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Code, PacketKind, connectClient, packServerId, startMockBackend, waitUntil } from '../../src/testkit/index.ts';
import { metric, testGateway, urlOf } from './helpers.ts';

const GAME = packServerId({ serverType: 1 });

/** The largest value of a `min default max` kernel setting. */
function kernelMax(path: string): number {
  return Number(readFileSync(path, 'utf8').trim().split(/\s+/).at(-1));
}
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

  // Push towards the slow client until the gateway starts dropping: the kernel's socket buffers (send side and the
  // client's receive side) absorb some MiB first, depending on autotuning. Capped at 15,000 messages (60 MiB).
  const payload = Buffer.alloc(MESSAGE, 2);
  const labels = { worker: slow.worker };
  let pushed = 0;
  for (let round = 0; round < 150 && backend.sessions.has(slow.sessionId); round++) {
    for (let j = 0; j < 100 && backend.sessions.has(slow.sessionId); j++, pushed++) backend.sendData(slow.sessionId, 2, GAME, payload);
    fast.send(3, GAME, `round ${round}`);
    await fast.waitForFrame((f) => f.payload.toString() === `round ${round}`, 5000);
    if ((await metric(gateway, 'actorgate_client_send_dropped_total', labels)) > 0) break;
  }
  await waitUntil(async () => (await metric(gateway, 'actorgate_slow_consumer_closes_total', labels)) === 1, 10_000, 'the slow consumer to be closed');
  const dropped = await metric(gateway, 'actorgate_client_send_dropped_total', labels);
  const peak = await metric(gateway, 'actorgate_client_send_buffer_peak_bytes', labels);
  // What was not dropped fits the gateway's bound plus what the kernel may hold for the socket (its maximum send
  // buffer and the client's maximum receive buffer): nothing piled up in the gateway's memory.
  const kernelBytes = kernelMax('/proc/sys/net/ipv4/tcp_wmem') + kernelMax('/proc/sys/net/ipv4/tcp_rmem');
  assert.ok(dropped > 0, 'overflow was dropped and counted');
  assert.ok((pushed - dropped) * MESSAGE <= BUFFER_LIMIT + MESSAGE + kernelBytes, `accepted ${(pushed - dropped) * MESSAGE} bytes for a client that reads nothing`);
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
