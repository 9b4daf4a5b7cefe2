/**
 * Fair shares of one backend's mailbox: a session flooding an endpoint is refused at its share
 * (backend.maxQueuedPerSession; by default a quarter of mailboxCapacity), while twenty other sessions on the same
 * worker and endpoint keep being queued and all get their replies.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Code, connectClient, packServerId, startMockBackend, waitUntil, type MockBackend, type ProtocolClient,
} from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { metric, testGateway, urlOf } from './helpers.ts';

const TO_BACKEND = packServerId({ serverType: 1 });
const CAPACITY = 200;
/** The default share: a quarter of the capacity. */
const SHARE = CAPACITY / 4;
const OTHERS = 20;
const PER_OTHER = 5;

let backend: MockBackend;
let gateway: Gateway;

before(async () => {
  // Small HTTP/2 windows and batches: a stalled backend holds little, so the mailbox itself fills.
  backend = await startMockBackend({ flowControlWindow: 65_535 });
  gateway = await testGateway({
    workers: 1,
    routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
    backend: {
      mailboxCapacity: CAPACITY, maxBatchPackets: 16, maxBatchBytes: 16 * 1024, flowControlWindowBytes: 65_535,
    },
  });
  await backend.waitForStreams(1);
});

after(async () => {
  await gateway.close();
  await backend.close();
});

const errorsOf = (client: ProtocolClient) => client.controls.filter((c) => c.type === 'error');

test('a flooding session is refused at its share of the mailbox; 20 others on the endpoint are served', async () => {
  assert.equal(gateway.config.backend.maxQueuedPerSession, SHARE, 'the default share is a quarter of the capacity');
  const flooder = await connectClient(urlOf(gateway));
  const others = await Promise.all(Array.from({ length: OTHERS }, () => connectClient(urlOf(gateway))));
  backend.stall();

  // Far more than the stalled stream (windows, one batch, grpc-js's read buffer) and the share can hold.
  const payload = Buffer.alloc(2048, 7);
  const FLOOD = 1500;
  for (let i = 0; i < FLOOD; i++) flooder.send(i, TO_BACKEND, payload);
  await waitUntil(() => errorsOf(flooder).length > 0, 10_000, 'the flooder to be refused');

  // The others send at a modest rate while the flood goes on: every round, the flooder tops its share up again.
  for (let round = 0; round < PER_OTHER; round++) {
    for (let i = 0; i < 100; i++) flooder.send(FLOOD + round * 100 + i, TO_BACKEND, payload);
    others.forEach((client, n) => client.send(round, TO_BACKEND, `s${n}.${round}`));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // A heartbeat is answered in order on the same socket: once it is back, every refusal sent before it is too.
  await Promise.all(others.map(async (client) => {
    client.heartbeat();
    await client.waitForControl('heartbeat', 10_000);
  }));
  flooder.heartbeat();
  await flooder.waitForControl('heartbeat', 10_000);
  const at = { worker: flooder.worker, endpoint: backend.endpoint };
  assert.ok((await metric(gateway, 'actorgate_backend_mailbox_depth_peak', at)) < CAPACITY, 'the mailbox never filled');

  backend.resume();
  await Promise.all(others.map((client) => client.waitForFrames(PER_OTHER, 10_000)));
  others.forEach((client, n) => {
    assert.deepEqual(errorsOf(client), [], `session ${n} was never refused`);
    const expected = Array.from({ length: PER_OTHER }, (_, r) => `s${n}.${r}`);
    assert.deepEqual(client.frames.map((f) => f.payload.toString()), expected);
  });

  const refused = errorsOf(flooder);
  for (const e of refused) {
    assert.ok(e.type === 'error' && e.code === Code.BACKEND_OVERLOADED, `code ${e.type === 'error' ? e.code : e.type}`);
    assert.equal(e.reason, 'session share of the backend mailbox full');
  }
  assert.ok(refused.length > FLOOD / 2, `most of the flood was refused (${refused.length})`);
  const labels = { worker: flooder.worker, reason: 'session_overloaded' };
  const counted = async () => metric(gateway, 'actorgate_client_messages_refused_total', labels);
  await waitUntil(async () => (await counted()) === refused.length, 5000, 'the refusals counted as session_overloaded');
  assert.equal(await metric(gateway, 'actorgate_backend_session_share_rejected_total', at), refused.length);
  assert.equal(await metric(gateway, 'actorgate_client_messages_refused_total', { reason: 'backend_overloaded' }), 0);
  // What the flooder had queued still goes out once the backend reads again: its share was held, not lost.
  await flooder.waitForFrames(FLOOD + PER_OTHER * 100 - refused.length, 10_000);

  for (const client of [flooder, ...others]) client.close();
});
