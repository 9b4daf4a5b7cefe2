/**
 * Span export over OTLP/gRPC to a real receiver (test/fixtures/otlp-receiver.ts): the forward span a backend's
 * traceparent names, its parent the client's TRACE_CONTEXT; the delivery span under the backend's context; the
 * connection span with its close; nothing for unsampled messages; the last spans flushed when the gateway closes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, PacketKind, connectClient, packServerId, startMockBackend, waitUntil } from '../../src/testkit/index.ts';
import type { MockBackend } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../fixtures/otlp-receiver.ts';
import { metric, scrapeMetrics, testGateway, urlOf } from './helpers.ts';

const GAME = packServerId({ serverType: 1 });
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const BACKEND_TRACE = '0af7651916cd43dd8448eb211c80319c';
const BACKEND_SPAN = 'b7ad6b7169203331';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;
const SPAN_KIND = { SERVER: 2, PRODUCER: 4, CONSUMER: 5 } as const;

async function dataPackets(backend: MockBackend, sessionId: string, count: number) {
  const data = () => backend.packets.filter((p) => p.sessionId === sessionId && p.kind === PacketKind.DATA);
  await waitUntil(() => data().length >= count, 5000, `${count} DATA packets`);
  return data();
}

function tracingGateway(backend: MockBackend, receiver: OtlpReceiver, sampleRatio: number): Promise<Gateway> {
  return testGateway({
    workers: 1,
    routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
    tracing: {
      sampleRatio,
      otlpEndpoint: receiver.url,
      otlpHeaders: ['x-collector-key=k1'],
      serviceName: 'gate-test',
      exportIntervalMs: 50,
    },
  });
}

describe('tracing export, sampleRatio 1', () => {
  let backend: MockBackend;
  let receiver: OtlpReceiver;
  let gateway: Gateway;

  before(async () => {
    backend = await startMockBackend({ mode: 'record' });
    receiver = await startOtlpReceiver();
    gateway = await tracingGateway(backend, receiver, 1);
  });
  after(async () => {
    await gateway.close();
    await backend.close();
    await receiver.close();
  });

  test("the backend's traceparent names the forward span, a child of the client's TRACE_CONTEXT", async () => {
    const client = await connectClient(urlOf(gateway, '/game'));
    client.traceContext(CLIENT_TRACE, CLIENT_SPAN);
    client.send(5, GAME, 'traced');
    const [packet] = await dataPackets(backend, client.sessionId, 1);
    const [, traceId, spanId] = TRACEPARENT.exec(packet!.traceparent) ?? [];
    assert.equal(traceId, CLIENT_TRACE, packet!.traceparent);
    assert.notEqual(spanId, CLIENT_SPAN, "the gateway's own span, not the client's");
    const span = await receiver.waitForSpan((s) => s.spanId === spanId, 'the forward span');
    assert.equal(span.name, 'actorgate.forward');
    assert.equal(span.kind, SPAN_KIND.PRODUCER);
    assert.equal(span.traceId, CLIENT_TRACE);
    assert.equal(span.parentSpanId, CLIENT_SPAN);
    assert.equal(span.attributes['actorgate.session.id'], client.sessionId);
    assert.equal(span.attributes['actorgate.msg_id'], 5);
    assert.deepEqual(span.events.map((e) => e.name), ['mailbox.out', 'grpc.written']);
    const [mailboxOut, written] = span.events;
    assert.ok(span.startNanos <= mailboxOut!.nanos && written!.nanos <= span.endNanos, 'events within the span');
    assert.deepEqual(pick(span.resource, /^service\./), { 'service.name': 'gate-test', 'service.instance.id': 'it/0' });
    assert.equal(receiver.lastMetadata?.get('x-collector-key')[0], 'k1');
    await client.close();
  });

  test('a sampled DATA without TRACE_CONTEXT starts a trace of its own', async () => {
    const client = await connectClient(urlOf(gateway));
    client.send(6, GAME, 'sampled');
    const [packet] = await dataPackets(backend, client.sessionId, 1);
    const [, traceId, spanId] = TRACEPARENT.exec(packet!.traceparent) ?? [];
    const span = await receiver.waitForSpan((s) => s.spanId === spanId, 'the forward span');
    assert.equal(span.traceId, traceId);
    assert.equal(span.parentSpanId, '', 'a root span');
    await client.close();
  });

  test("the delivery span is a child of the backend's traceparent", async () => {
    const client = await connectClient(urlOf(gateway));
    client.send(1, GAME, 'bind');
    await dataPackets(backend, client.sessionId, 1);
    const traceparent = `00-${BACKEND_TRACE}-${BACKEND_SPAN}-01`;
    backend.send(client.sessionId, {
      kind: PacketKind.DATA, msgId: 9, serverId: GAME, payload: Buffer.from('back'),
      traceparent,
    });
    assert.equal((await client.nextFrame()).payload.toString(), 'back');
    const delivery = (s: ReceivedSpan) => s.name === 'actorgate.deliver' && s.traceId === BACKEND_TRACE;
    const span = await receiver.waitForSpan(delivery, 'the delivery span');
    assert.equal(span.parentSpanId, BACKEND_SPAN);
    assert.equal(span.kind, SPAN_KIND.CONSUMER);
    assert.equal(span.attributes['actorgate.session.id'], client.sessionId);
    assert.equal(span.attributes['actorgate.msg_id'], 9);
    await client.close();
  });

  test('the connection span runs from open to close, with the address, path, user, worker and close code', async () => {
    const client = await connectClient(urlOf(gateway, '/lobby'));
    client.send(1, GAME, 'bind');
    await dataPackets(backend, client.sessionId, 1);
    backend.bindUser(client.sessionId, 'user-7');
    backend.closeSession(client.sessionId, 4601, 'kicked');
    await client.waitFor((c) => !c.isOpen, 5000, 'the close');
    const span = await receiver.waitForSpan(connectionOf(client.sessionId), 'the connection span');
    assert.equal(span.kind, SPAN_KIND.SERVER);
    assert.deepEqual(pick(span.attributes, /^(client|url|user|actorgate\.(worker|close))/), {
      'client.address': '127.0.0.1',
      'url.path': '/lobby',
      'user.id': 'user-7',
      'actorgate.worker': 0,
      'actorgate.close.code': 4601,
      'actorgate.close.reason': 'kicked',
    });
    assert.equal(span.status, 2, 'a 45xx/46xx close is an error');
  });
});

describe('tracing export, sampleRatio 0', () => {
  let backend: MockBackend;
  let receiver: OtlpReceiver;
  let gateway: Gateway;

  before(async () => {
    backend = await startMockBackend({ mode: 'record' });
    receiver = await startOtlpReceiver();
    gateway = await tracingGateway(backend, receiver, 0);
  });
  after(async () => {
    await backend.close();
    await receiver.close();
  });

  test('only the DATA a client asked to trace has a span and a traceparent; the rest cost nothing', async () => {
    const client = await connectClient(urlOf(gateway));
    for (let i = 0; i < 20; i++) client.send(i, GAME, 'plain');
    client.traceContext(CLIENT_TRACE, CLIENT_SPAN);
    client.send(99, GAME, 'traced');
    const packets = await dataPackets(backend, client.sessionId, 21);
    assert.deepEqual(packets.slice(0, 20).map((p) => p.traceparent), Array(20).fill(''));
    const [, , spanId] = TRACEPARENT.exec(packets[20]!.traceparent) ?? [];
    await receiver.waitForSpan((s) => s.spanId === spanId, 'the forward span');
    backend.sendData(client.sessionId, 1, GAME, 'untraced back');
    await client.nextFrame();
    // Stays open: its close comes with the gateway's, below.
    await gateway.close();
    assert.deepEqual(receiver.spans.map((s) => s.name), ['actorgate.forward'], 'no connection, delivery or other span');
  });

  test('spans still queued when the gateway closes are exported before its workers end', async () => {
    const other = await startOtlpReceiver();
    const closing = await testGateway({
      workers: 1,
      routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
      // Far longer than the test: only the close's flush can export the span in time.
      tracing: { sampleRatio: 1, otlpEndpoint: other.url, exportIntervalMs: 600_000 },
      shutdown: { flushTimeoutMs: 3000 },
    });
    const client = await connectClient(urlOf(closing));
    await closing.close();
    const span = other.spans.find(connectionOf(client.sessionId));
    assert.equal(span?.attributes['actorgate.close.code'], Code.SHUTDOWN);
    await other.close();
  });
});

describe('tracing export: the bounded queue', () => {
  test('spans past tracing.maxQueueSpans are dropped and counted; every span is exported or counted', async () => {
    const backend = await startMockBackend({ mode: 'record' });
    const receiver = await startOtlpReceiver();
    const gateway = await testGateway({
      workers: 1,
      routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
      tracing: { sampleRatio: 1, otlpEndpoint: receiver.url, exportIntervalMs: 20, maxQueueSpans: 2 },
    });
    try {
      const client = await connectClient(urlOf(gateway));
      for (let i = 0; i < 50; i++) client.send(i, GAME, 'burst');
      await dataPackets(backend, client.sessionId, 50);
      await client.close();
      // 50 forward spans and the connection's; the record-mode backend answers nothing, so no delivery span.
      const outcomes = async () => {
        const scrape = await scrapeMetrics(gateway);
        const outcome = (name: string) => scrape('actorgate_spans_total', { outcome: name });
        return { exported: outcome('exported'), dropped: outcome('dropped') };
      };
      await waitUntil(async () => {
        const { exported, dropped } = await outcomes();
        return exported + dropped === 51;
      }, 10_000, 'every span exported or dropped');
      const { exported, dropped } = await outcomes();
      assert.ok(dropped > 0, 'a burst of 50 overflows a queue of 2');
      await waitUntil(() => receiver.spans.length === exported, 5000, 'the receiver to have every exported span');
      assert.equal(await metric(gateway, 'actorgate_spans_total', { outcome: 'failed' }), 0);
    } finally {
      await gateway.close();
      await backend.close();
      await receiver.close();
    }
  });
});

function connectionOf(sessionId: string): (span: ReceivedSpan) => boolean {
  return (span) => span.name === 'actorgate.connection' && span.attributes['actorgate.session.id'] === sessionId;
}

function pick(record: Record<string, unknown>, keys: RegExp): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => keys.test(key)));
}
