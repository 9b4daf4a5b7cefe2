/**
 * W3C trace context without span export: TRACE_CONTEXT traces a session's next DATA with the client's ids,
 * tracing.sampleRatio traces DATA with fresh ids, and backends' traceparents are read strictly and counted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, Control, PacketKind, connectClient, encodeFrame, packServerId } from '../../src/testkit/index.ts';
import { startMockBackend, waitUntil } from '../../src/testkit/index.ts';
import type { MockBackend } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { metric, testGateway, urlOf } from './helpers.ts';

const GAME = packServerId({ serverType: 1 });
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const VALID = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

/** The traceparents of the session's DATA packets, in order, once `count` arrived. */
async function traceparents(backend: MockBackend, sessionId: string, count: number): Promise<string[]> {
  const data = () => backend.packets.filter((p) => p.sessionId === sessionId && p.kind === PacketKind.DATA);
  await waitUntil(() => data().length >= count, 5000, `${count} DATA packets`);
  return data().map((p) => p.traceparent);
}

describe('trace context: TRACE_CONTEXT and backends, sampleRatio 0', () => {
  let backend: MockBackend;
  let gateway: Gateway;

  before(async () => {
    backend = await startMockBackend({ mode: 'record' });
    gateway = await testGateway({
      routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
      limits: { maxViolations: 100 },
    });
  });
  after(async () => {
    await gateway.close();
    await backend.close();
  });

  test("TRACE_CONTEXT puts the client's ids on the next DATA only; without it the traceparent is empty", async () => {
    const client = await connectClient(urlOf(gateway));
    client.send(1, GAME, 'untraced');
    client.traceContext(TRACE_ID, SPAN_ID);
    client.send(2, GAME, 'traced');
    client.send(3, GAME, 'after');
    client.traceContext(TRACE_ID, SPAN_ID, 0);
    client.send(4, GAME, 'not sampled upstream');
    const expected = ['', `00-${TRACE_ID}-${SPAN_ID}-01`, '', `00-${TRACE_ID}-${SPAN_ID}-00`];
    assert.deepEqual(await traceparents(backend, client.sessionId, 4), expected);
    assert.equal(await metric(gateway, 'actorgate_trace_contexts_total'), 2);
    assert.equal(await metric(gateway, 'actorgate_traced_messages_total', { direction: 'forward' }), 2);
    await client.close();
  });

  test('a malformed TRACE_CONTEXT is an UNKNOWN_CONTROL violation and traces nothing', async () => {
    const client = await connectClient(urlOf(gateway));
    const bodies = [
      Buffer.alloc(23, 1), // too short
      Buffer.alloc(26, 1), // too long
      Buffer.concat([Buffer.alloc(16), Buffer.alloc(8, 1)]), // all-zero trace id
      Buffer.concat([Buffer.alloc(16, 1), Buffer.alloc(8)]), // all-zero span id
    ];
    for (const body of bodies) {
      client.sendRaw(encodeFrame(Control.TRACE_CONTEXT, 0, body));
      const error = await client.waitForControl('error');
      assert.equal(error.code, Code.UNKNOWN_CONTROL);
      assert.equal(error.refMsgId, Control.TRACE_CONTEXT);
    }
    client.send(1, GAME, 'after the bad ones');
    assert.deepEqual(await traceparents(backend, client.sessionId, 1), ['']);
    await client.close();
  });

  test("a backend's traceparent is read strictly: valid and invalid ones counted, every packet delivered", async () => {
    const client = await connectClient(urlOf(gateway));
    client.send(1, GAME, 'bind');
    await traceparents(backend, client.sessionId, 1);
    const invalid = [
      `01-${TRACE_ID}-${SPAN_ID}-01`,
      `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`,
      `00-${'0'.repeat(32)}-${SPAN_ID}-01`,
      'garbage',
    ];
    const data = (text: string, traceparent: string) => {
      return { kind: PacketKind.DATA, msgId: 7, serverId: GAME, payload: Buffer.from(text), traceparent };
    };
    const before = await metric(gateway, 'actorgate_traceparent_invalid_total');
    backend.send(client.sessionId, data('valid', `00-${TRACE_ID}-${SPAN_ID}-01`));
    for (const traceparent of invalid) backend.send(client.sessionId, data('invalid', traceparent));
    const frames = await client.waitForFrames(5);
    assert.deepEqual(frames.map((f) => f.payload.toString()), ['valid', 'invalid', 'invalid', 'invalid', 'invalid']);
    assert.equal(await metric(gateway, 'actorgate_traced_messages_total', { direction: 'delivery' }), 1);
    assert.equal((await metric(gateway, 'actorgate_traceparent_invalid_total')) - before, invalid.length);
    await client.close();
  });
});

describe('trace context: sampleRatio 1', () => {
  let backend: MockBackend;
  let gateway: Gateway;

  before(async () => {
    backend = await startMockBackend({ mode: 'record' });
    gateway = await testGateway({
      routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
      tracing: { sampleRatio: 1 },
    });
  });
  after(async () => {
    await gateway.close();
    await backend.close();
  });

  test('every DATA carries a valid traceparent of its own trace', async () => {
    const client = await connectClient(urlOf(gateway));
    for (let i = 0; i < 50; i++) client.send(i, GAME, `m${i}`);
    const values = await traceparents(backend, client.sessionId, 50);
    assert.ok(values.every((v) => VALID.test(v)), values.find((v) => !VALID.test(v)));
    assert.equal(new Set(values.map((v) => VALID.exec(v)![1])).size, 50, 'a fresh trace id each');
    assert.ok(values.every((v) => !/-0{32}-|-0{16}-/.test(v)));
    await client.close();
  });
});
