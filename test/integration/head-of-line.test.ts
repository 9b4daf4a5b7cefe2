import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, PacketKind, connectClient, packServerId, startMockBackend, waitUntil, type MockBackend } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { metric, testGateway, urlOf } from './helpers.ts';
import { PACKET_FRAMING_BYTES } from '../../src/backend/packet-size.ts';

const TO_A = packServerId({ serverType: 1 });
const TO_B = packServerId({ serverType: 2 });
const CAPACITY = 100;
const MAX_BATCH_PACKETS = 16;
const MAX_BATCH_BYTES = 16 * 1024;

let a: MockBackend;
let b: MockBackend;
let gateway: Gateway;

before(async () => {
  a = await startMockBackend();
  b = await startMockBackend();
  gateway = await testGateway({
    routes: [
      { serverType: 1, endpoints: [a.endpoint] },
      { serverType: 2, endpoints: [b.endpoint] },
    ],
    // One session fills the whole mailbox here: its share is the whole of it (mailbox-fairness.test.ts tests shares).
    backend: { mailboxCapacity: CAPACITY, maxQueuedPerSession: CAPACITY, maxBatchPackets: MAX_BATCH_PACKETS, maxBatchBytes: MAX_BATCH_BYTES },
  });
  await a.waitForStreams(2);
  await b.waitForStreams(2);
});

after(async () => {
  await gateway.close();
  await a.close();
  await b.close();
});

test('a stalled backend fills only its own mailbox; the other keeps echoing; on resume the queue arrives in order', async () => {
  b.stall();
  const slow = await connectClient(urlOf(gateway));
  const fast = await connectClient(urlOf(gateway));
  const payload = Buffer.alloc(2048, 1);

  // Far more than B's HTTP/2 window plus the mailbox can hold.
  const SENT = 1500;
  for (let i = 0; i < SENT; i++) slow.send(i, TO_B, payload);
  await waitUntil(() => slow.controls.some((c) => c.type === 'error'), 10_000, 'B to refuse with BACKEND_OVERLOADED');

  // While B is stalled and refusing, A's round trips go on with nothing lost.
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 100; i++) fast.send(round * 100 + i, TO_A, `a${round * 100 + i}`);
    await fast.waitForFrames((round + 1) * 100, 10_000);
  }
  assert.deepEqual(fast.frames.map((f) => f.payload.toString()), Array.from({ length: 500 }, (_, i) => `a${i}`));
  assert.equal(fast.controls.filter((c) => c.type === 'error').length, 0);

  // Every refusal is the documented overload error; the queue never passed its bound.
  // A heartbeat is answered in order on the same socket: once it is back, every refusal of the burst is too.
  slow.heartbeat();
  await slow.waitForControl('heartbeat', 10_000);
  const errors = slow.controls.filter((c) => c.type === 'error');
  assert.ok(errors.every((e) => e.type === 'error' && e.code === Code.BACKEND_OVERLOADED));
  const atB = { worker: slow.worker, endpoint: b.endpoint };
  const depth = await metric(gateway, 'actorgate_backend_mailbox_depth', atB);
  assert.ok(depth <= CAPACITY, `mailbox depth ${depth} within its bound ${CAPACITY}`);
  assert.equal(await metric(gateway, 'actorgate_backend_mailbox_depth_peak', atB), CAPACITY, 'B’s mailbox reached its bound (it refused) and never passed it');
  // In grpc-js, per stream: one batch, at most maxBatchBytes of content plus the per-packet framing.
  const inFlightBound = MAX_BATCH_BYTES + MAX_BATCH_PACKETS * PACKET_FRAMING_BYTES;
  // (Read at an instant: between two writes the gauge is 0, so only its bound is asserted here, its peak below.)
  const inFlight = await metric(gateway, 'actorgate_backend_in_flight_bytes', atB);
  assert.ok(inFlight <= inFlightBound, `B: ${inFlight} bytes in flight, bound ${inFlightBound}`);
  assert.equal(await metric(gateway, 'actorgate_backend_mailbox_depth', { endpoint: a.endpoint }), 0);
  await waitUntil(async () => (await metric(gateway, 'actorgate_backend_mailbox_rejected_total', { endpoint: b.endpoint })) === errors.length, 5000, 'rejections counted');
  // The gateway holds at most the mailbox plus one batch for B: what B has not read is bounded by that plus the
  // HTTP/2 windows, whatever the client sent.
  const refused = new Set(errors.map((e) => (e.type === 'error' ? e.refMsgId : -1)));
  const accepted = Array.from({ length: SENT }, (_, i) => i).filter((i) => !refused.has(i));
  assert.ok(refused.size > SENT / 2, `most of the burst was refused (${refused.size} of ${SENT})`);

  b.resume();
  const frames = await slow.waitForFrames(accepted.length, 20_000);
  assert.deepEqual(frames.map((f) => f.msgId), accepted, 'B echoed exactly the accepted messages, in order');
  const receivedAtB = b.packets.filter((p) => p.sessionId === slow.sessionId && p.kind === PacketKind.DATA).map((p) => p.msgId);
  assert.deepEqual(receivedAtB, accepted, 'B received the accepted messages in send order');
  for (const [client, endpoint] of [[fast, a.endpoint], [slow, b.endpoint]] as const) {
    const peak = await metric(gateway, 'actorgate_backend_in_flight_bytes_peak', { worker: client.worker, endpoint });
    assert.ok(peak > 0 && peak <= inFlightBound, `${endpoint}: peak bytes in flight ${peak} ≤ ${inFlightBound}`);
  }
  await slow.close();
  await fast.close();
});
