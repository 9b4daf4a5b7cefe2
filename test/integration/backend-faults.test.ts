import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, PacketKind, connectClient, packServerId, startMockBackend, waitUntil, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { metric, scrapeMetrics, testGateway, urlOf, type MetricsScrape } from './helpers.ts';
import { startBackendProcess } from './backend-process.ts';
import { PACKET_FRAMING_BYTES } from '../../src/backend/packet-size.ts';

const GAME = packServerId({ serverType: 1 });
const STUCK = packServerId({ serverType: 2 });

function errorCodes(client: ProtocolClient): number[] {
  return client.controls.flatMap((c) => (c.type === 'error' ? [c.code] : []));
}

/** Payload = a u32 sequence number, so echoes can be checked for order. */
function seqPayload(seq: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(seq);
  return b;
}

function echoedSeqs(client: ProtocolClient, serverId: number): number[] {
  return client.frames.filter((f) => f.serverId === serverId).map((f) => f.payload.readUInt32LE(0));
}

function strictlyIncreasing(values: number[]): boolean {
  return values.every((v, i) => i === 0 || v > values[i - 1]!);
}

type ErrorControl = Extract<ProtocolClient['controls'][number], { type: 'error' }>;

function errorsOf(client: ProtocolClient): ErrorControl[] {
  return client.controls.filter((c): c is ErrorControl => c.type === 'error');
}

/**
 * What one stream may hold in grpc-js: one batch, whose content is at most maxBatchBytes (packet-size.ts) plus
 * PACKET_FRAMING_BYTES per packet.
 */
function inFlightBound(gateway: Gateway): number {
  const { maxBatchBytes, maxBatchPackets } = gateway.config.backend;
  return maxBatchBytes + maxBatchPackets * PACKET_FRAMING_BYTES;
}

describe('backend faults', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  test('a backend process killed mid-traffic and started again: clients get codes, traffic resumes, order kept, nothing lost silently', async () => {
    let backend = await startBackendProcess();
    cleanups.push(() => backend.kill());
    const CAPACITY = 64;
    const gateway = await testGateway({
      routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
      backend: { mailboxCapacity: CAPACITY, maxQueuedPerSession: CAPACITY, reconnectInitialMs: 20, reconnectMaxMs: 200, maxQueueAgeMs: 300, circuitOpenMs: 200, failoverAfterMs: 600_000 },
    });
    cleanups.push(() => gateway.close());
    const clients = await Promise.all(Array.from({ length: 3 }, () => connectClient(urlOf(gateway))));
    // msgId = sequence number, so every ERROR names the message it refuses (refMsgId).
    const seq = clients.map(() => 0);
    const send = (i: number) => {
      const s = seq[i]!++;
      clients[i]!.send(s, GAME, seqPayload(s));
    };
    const pump = setInterval(() => {
      for (let i = 0; i < clients.length; i++) if (seq[i]! < 0xffff) send(i);
    }, 2);
    let restartedAtSeq: number[] = [];
    try {
      await waitUntil(() => clients.every((c) => c.frames.length >= 50), 10_000, 'traffic before the kill');
      await backend.kill();
      await waitUntil(() => clients.every((c) => errorCodes(c).length > 0), 10_000, 'every client to be told');
      restartedAtSeq = [...seq];
      backend = await startBackendProcess(backend.port);
      await waitUntil(
        () => clients.every((c, i) => echoedSeqs(c, GAME).some((s) => s > restartedAtSeq[i]! + 50)),
        20_000,
        'traffic to resume through the restarted backend',
      );
    } finally {
      clearInterval(pump);
    }
    // One last message per client: once it is answered, so is everything the client sent before it (one session's
    // messages keep their order through the gateway and the backend).
    const markers = clients.map((_, i) => seq[i]!);
    clients.forEach((_, i) => send(i));
    await Promise.all(
      clients.map((c, i) =>
        waitUntil(() => echoedSeqs(c, GAME).includes(markers[i]!) || errorsOf(c).some((e) => e.refMsgId === markers[i]), 10_000, 'the last message answered'),
      ),
    );

    const m = await scrapeMetrics(gateway);
    const byCode = new Map<number, number>();
    clients.forEach((client, i) => {
      assert.ok(seq[i]! <= 0x10000, 'msgIds did not wrap');
      const echoed = echoedSeqs(client, GAME);
      assert.ok(strictlyIncreasing(echoed), 'echoes never reordered, never duplicated');
      const refused = new Set<number>();
      let firstAfterFailure = Infinity;
      for (const e of errorsOf(client)) {
        // Expiry and fail-fast refusals concern messages sent after the old stream failed.
        if (e.code !== Code.BACKEND_OVERLOADED) firstAfterFailure = Math.min(firstAfterFailure, e.refMsgId);
        assert.ok([Code.BACKEND_EXPIRED, Code.BACKEND_UNAVAILABLE, Code.BACKEND_OVERLOADED].includes(e.code as never), `code ${e.code}`);
        assert.equal(e.refServerId, GAME);
        assert.ok(!refused.has(e.refMsgId), `message ${e.refMsgId} refused once`);
        refused.add(e.refMsgId);
        byCode.set(e.code, (byCode.get(e.code) ?? 0) + 1);
      }
      const echoedSet = new Set(echoed);
      for (const s of refused) assert.ok(!echoedSet.has(s), `message ${s} both echoed and refused`);
      // Delivery is at most once: what was in transit to the killed process when it died (the batch being written,
      // what HTTP/2 had passed to its socket, echoes it had not sent yet) is gone without a word. Those messages
      // are one run, written to the old stream, so sent before anything that was expired or refused fast; every
      // other message was echoed or refused with a code.
      const silent = Array.from({ length: seq[i]! }, (_, s) => s).filter((s) => !echoedSet.has(s) && !refused.has(s));
      if (silent.length > 0) {
        const [first, last] = [silent[0]!, silent.at(-1)!];
        assert.ok(!echoed.some((s) => s > first && s < last), `client ${i}: unanswered messages ${first}…${last} are one run in transit at the kill`);
        assert.ok(last < firstAfterFailure, `client ${i}: unanswered messages (${first}…${last}) were all sent before the first expiry or fast refusal (${firstAfterFailure})`);
      }
    });
    // Each refusal the clients saw is counted under its reason, and nothing else was refused.
    const endpoint = { endpoint: backend.endpoint };
    assert.equal(byCode.get(Code.BACKEND_EXPIRED) ?? 0, m('actorgate_backend_expired_total', endpoint), 'BACKEND_EXPIRED answers = expired_total');
    assert.equal(byCode.get(Code.BACKEND_OVERLOADED) ?? 0, m('actorgate_backend_mailbox_rejected_total', endpoint), 'BACKEND_OVERLOADED answers = mailbox_rejected_total');
    assert.equal(byCode.get(Code.BACKEND_UNAVAILABLE) ?? 0, m('actorgate_backend_unavailable_total', endpoint), 'BACKEND_UNAVAILABLE answers = unavailable_total');
    assert.ok((byCode.get(Code.BACKEND_EXPIRED) ?? 0) + (byCode.get(Code.BACKEND_OVERLOADED) ?? 0) > 0, 'the outage queued and refused messages');
    // Bounded: no mailbox passed its bound (one that refused reached it exactly), no stream held more than one batch.
    for (let worker = 0; worker < gateway.config.workers; worker++) {
      const labels = { worker, endpoint: backend.endpoint };
      const peak = m('actorgate_backend_mailbox_depth_peak', labels);
      assert.ok(peak <= CAPACITY, `worker ${worker}: peak mailbox depth ${peak} ≤ ${CAPACITY}`);
      if (m('actorgate_backend_mailbox_rejected_total', labels) > 0) assert.equal(peak, CAPACITY, `worker ${worker}: refused only at the bound`);
      const inFlight = m('actorgate_backend_in_flight_bytes_peak', labels);
      assert.ok(inFlight <= inFlightBound(gateway), `worker ${worker}: peak bytes in flight ${inFlight} ≤ ${inFlightBound(gateway)}`);
    }
    // The new process saw every session re-opened before its first DATA on the new stream.
    for (const client of clients) assert.match(backend.output(), new RegExp(`first-data ${client.sessionId} after-open`));
    assert.doesNotMatch(backend.output(), /WITHOUT-OPEN/);
    assert.ok(m('actorgate_backend_stream_failures_total') >= 1);
    for (const client of clients) await client.close();
  });

  test('messages queued while the backend is down expire with BACKEND_EXPIRED (4102), each naming its message, each counted', async () => {
    const backend = await startMockBackend();
    const gateway = await testGateway({
      workers: 1,
      routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
      // The circuit must not open first (it would refuse with 4101 instead of queueing), nor failover release the session.
      backend: { circuitFailureThreshold: 1_000_000, maxQueueAgeMs: 200, reconnectInitialMs: 20, reconnectMaxMs: 100, failoverAfterMs: 600_000 },
    });
    cleanups.push(() => gateway.close());
    const client = await connectClient(urlOf(gateway));
    client.send(1, GAME, 'bind');
    await client.waitForFrame((f) => f.msgId === 1);
    await backend.close();
    await waitUntil(async () => (await metric(gateway, 'actorgate_backend_stream_failures_total')) >= 1, 10_000, 'the stream to fail');

    const N = 25;
    const sent = Array.from({ length: N }, (_, i) => 100 + i);
    for (const msgId of sent) client.send(msgId, GAME, seqPayload(msgId));
    await waitUntil(() => errorsOf(client).length >= N, 10_000, `${N} errors`);
    // A heartbeat answered after the errors: nothing else was queued to this client behind them.
    client.heartbeat();
    await client.waitForControl('heartbeat');
    const errors = errorsOf(client);
    assert.deepEqual(errors.map((e) => e.code), sent.map(() => Code.BACKEND_EXPIRED));
    assert.deepEqual(errors.map((e) => e.refMsgId), sent, 'one error per message, in send order');
    assert.ok(errors.every((e) => e.refServerId === GAME));
    const m = await scrapeMetrics(gateway);
    assert.equal(m('actorgate_backend_expired_total', { endpoint: backend.endpoint }), N);
    assert.equal(m('actorgate_backend_circuit_opened_total'), 0, 'the circuit stayed closed');
    assert.equal(m('actorgate_backend_unavailable_total') + m('actorgate_backend_mailbox_rejected_total'), 0);
    await client.close();
  });

  test('a backend that never reads: circuit opens (fail fast), unbound sessions go to a healthy endpoint, memory stays bounded, and the circuit closes only through half-open', async () => {
    const stalled = await startMockBackend();
    const healthy = await startMockBackend();
    cleanups.push(() => stalled.close(), () => healthy.close());
    const CAPACITY = 50;
    const gateway: Gateway = await testGateway({
      routes: [
        { serverType: 1, endpoints: [stalled.endpoint, healthy.endpoint], strategy: 'round-robin' },
        { serverType: 2, endpoints: [stalled.endpoint] },
      ],
      // A small batch byte limit, so the in-flight bound below is close to what a batch really holds.
      backend: { mailboxCapacity: CAPACITY, maxQueuedPerSession: CAPACITY, maxBatchPackets: 8, maxBatchBytes: 4096, writeStallMs: 150, circuitFailureThreshold: 2, circuitOpenMs: 300, failoverAfterMs: 600_000 },
      // The stuck client stands for a worker's worth of traffic (4000 messages a second, for seconds): past its own
      // message rate it would be refused RATE_LIMITED and closed before the mailbox filled.
      limits: { messagesPerSecond: 0, bytesPerSecond: 0 },
    });
    cleanups.push(() => gateway.close());
    await stalled.waitForStreams(2);
    stalled.stall();

    const stuck = await connectClient(urlOf(gateway));
    const payload = Buffer.alloc(1024, 1);
    const labels = { worker: stuck.worker, endpoint: stalled.endpoint };
    const circuit = (m: MetricsScrape) => ({
      opened: m('actorgate_backend_circuit_opened_total', labels),
      halfOpened: m('actorgate_backend_circuit_half_opened_total', labels),
      closed: m('actorgate_backend_circuit_closed_total', labels),
      state: m('actorgate_backend_circuit_state', labels),
    });
    // Keep sending, as a live client does: the HTTP/2 and TCP windows absorb some hundred KiB before a write sticks.
    let next = 0;
    const pump = setInterval(() => {
      for (let i = 0; i < 20; i++, next++) stuck.send(next, STUCK, Buffer.concat([seqPayload(next), payload]));
    }, 5);
    try {
      await waitUntil(async () => (await metric(gateway, 'actorgate_backend_circuit_opened_total', labels)) >= 1, 10_000, 'the circuit to open');
      await waitUntil(() => errorCodes(stuck).includes(Code.BACKEND_UNAVAILABLE), 5000, 'a fast BACKEND_UNAVAILABLE');
    } finally {
      clearInterval(pump);
    }
    assert.ok(errorCodes(stuck).includes(Code.BACKEND_OVERLOADED), 'the mailbox filled before the circuit opened');
    assert.equal(circuit(await scrapeMetrics(gateway)).closed, 0, 'writes completing while open did not close it');

    // Bounded: the mailbox never passes its bound, and nothing more is written into grpc-js while the write stalls.
    const sentBefore = await metric(gateway, 'actorgate_backend_packets_sent_total', labels);
    for (let i = 0; i < 500; i++, next++) stuck.send(next, STUCK, Buffer.concat([seqPayload(next), payload]));
    stuck.heartbeat();
    await stuck.waitForControl('heartbeat');
    const bounded = await scrapeMetrics(gateway);
    assert.equal(bounded('actorgate_backend_packets_sent_total', labels), sentBefore);
    assert.ok(bounded('actorgate_backend_mailbox_depth', labels) <= CAPACITY);
    assert.equal(bounded('actorgate_backend_mailbox_depth_peak', labels), CAPACITY, 'the mailbox reached its bound (it refused) and never passed it');
    const inFlight = bounded('actorgate_backend_in_flight_bytes', labels);
    const inFlightPeak = bounded('actorgate_backend_in_flight_bytes_peak', labels);
    assert.ok(inFlight <= inFlightPeak, 'the peak holds the largest value seen');
    assert.ok(inFlightPeak > 0 && inFlightPeak <= inFlightBound(gateway), `peak bytes in flight ${inFlightPeak} ≤ ${inFlightBound(gateway)}`);

    // New sessions under the two-endpoint rule all bind to the healthy endpoint while the circuit is open. The
    // circuit is per worker: connect until two sessions land on the stuck client's worker.
    const fresh: ProtocolClient[] = [];
    for (let attempt = 0; fresh.length < 2; attempt++) {
      assert.ok(attempt < 64, `only ${fresh.length} of 64 connections landed on worker ${stuck.worker}`);
      const client = await connectClient(urlOf(gateway));
      if (client.worker === stuck.worker) fresh.push(client);
      else await client.close();
    }
    for (const client of fresh) client.send(7, GAME, 'route me');
    await Promise.all(fresh.map((c) => c.waitForFrame((f) => f.msgId === 7)));
    for (const client of fresh) {
      assert.ok(healthy.packets.some((p) => p.sessionId === client.sessionId && p.kind === PacketKind.DATA));
      assert.ok(!stalled.packets.some((p) => p.sessionId === client.sessionId && p.kind === PacketKind.DATA));
    }

    // While still stalled, half-open lets traffic through and the stall opens it again; it does not close.
    await waitUntil(async () => (await metric(gateway, 'actorgate_backend_circuit_half_opened_total', labels)) >= 1, 10_000, 'half-open');
    const reopened = await waitUntil(
      async () => {
        const c = circuit(await scrapeMetrics(gateway));
        return c.opened >= 2 && c.state === 1 ? c : undefined;
      },
      10_000,
      'the circuit to open again while the backend still does not read',
    );
    assert.equal(reopened.closed, 0, 'no close while the backend does not read');

    stalled.resume();
    const closed = await waitUntil(
      async () => {
        const c = circuit(await scrapeMetrics(gateway));
        return c.state === 0 ? c : undefined;
      },
      10_000,
      'the circuit to close',
    );
    // Closed only from half-open: after the re-open, another half-open came before the close.
    assert.ok(closed.closed >= 1, 'the close was counted');
    assert.ok(closed.halfOpened > reopened.halfOpened, `half-open (${reopened.halfOpened} → ${closed.halfOpened}) before the close`);
    stuck.send(next, STUCK, seqPayload(next));
    await stuck.waitForFrame((f) => f.msgId === next, 10_000);
    assert.ok(strictlyIncreasing(echoedSeqs(stuck, STUCK)), 'queued messages were delivered in order');
    const after = await scrapeMetrics(gateway);
    assert.ok(after('actorgate_backend_in_flight_bytes_peak', labels) <= inFlightBound(gateway), 'the drained queue went out in bounded batches');
    assert.ok(after('actorgate_backend_mailbox_depth_peak', labels) <= CAPACITY);
    for (const client of [stuck, ...fresh]) await client.close();
  });

  test('an endpoint down past failoverAfterMs: its sessions are told and rebound to a healthy endpoint, OPEN first', async () => {
    const a = await startMockBackend();
    const b = await startMockBackend();
    cleanups.push(() => b.close());
    const gateway = await testGateway({
      routes: [{ serverType: 1, endpoints: [a.endpoint, b.endpoint] }],
      backend: { failoverAfterMs: 400, reconnectInitialMs: 50, reconnectMaxMs: 200 },
    });
    cleanups.push(() => gateway.close());
    const clients = await Promise.all(Array.from({ length: 8 }, () => connectClient(urlOf(gateway))));
    for (const client of clients) client.send(1, GAME, 'first');
    await Promise.all(clients.map((c) => c.waitForFrames(1)));
    const onA = clients.filter((c) => a.packets.some((p) => p.sessionId === c.sessionId && p.kind === PacketKind.DATA));
    const onB = clients.filter((c) => !onA.includes(c));
    assert.ok(onA.length > 0 && onB.length > 0);

    await a.close();
    for (const client of onA) {
      const error = await client.waitForControl('error', 10_000);
      assert.equal(error.code, Code.BACKEND_FAILOVER);
    }
    for (const client of onA) client.send(2, GAME, 'second');
    for (const client of onA) {
      assert.equal((await client.waitForFrame((f) => f.msgId === 2, 5000)).payload.toString(), 'second');
      const atB = b.packets.filter((p) => p.sessionId === client.sessionId).map((p) => p.kind);
      assert.deepEqual(atB, [PacketKind.OPEN, PacketKind.DATA], 'OPEN precedes the first DATA on the new endpoint');
    }
    for (const client of onB) assert.equal(errorCodes(client).length, 0, 'sessions on the healthy endpoint were not disturbed');
    assert.equal(await metric(gateway, 'actorgate_backend_failovers_total', { endpoint: a.endpoint }), onA.length);
    for (const client of clients) await client.close();
  });

  test('an endpoint that recovers and fails again fails over again', async () => {
    let a = await startMockBackend();
    const port = a.port;
    const b = await startMockBackend();
    cleanups.push(() => b.close());
    const gateway = await testGateway({
      workers: 1,
      routes: [{ serverType: 1, endpoints: [a.endpoint, b.endpoint] }],
      backend: { failoverAfterMs: 300, reconnectInitialMs: 20, reconnectMaxMs: 100, circuitOpenMs: 100 },
    });
    cleanups.push(() => gateway.close());
    for (let outage = 1; outage <= 2; outage++) {
      // Bind sessions until one lands on A (round-robin over A and B).
      let onA: ProtocolClient | undefined;
      for (let attempt = 0; onA === undefined; attempt++) {
        assert.ok(attempt < 20, `outage ${outage}: no new session was bound to the recovered endpoint`);
        const client = await connectClient(urlOf(gateway));
        client.send(1, GAME, 'x');
        await client.waitForFrame((f) => f.msgId === 1, 5000);
        if (a.packets.some((p) => p.sessionId === client.sessionId && p.kind === PacketKind.DATA)) onA = client;
        else await client.close();
      }
      await a.close();
      assert.equal((await onA.waitForControl('error', 10_000)).code, Code.BACKEND_FAILOVER, `outage ${outage}`);
      await onA.close();
      a = await startMockBackend({ port });
      await a.waitForStreams(1, 10_000);
      // Healthy again once the half-open probe has closed the circuit; only then do new sessions bind to A.
      await waitUntil(async () => (await metric(gateway, 'actorgate_backend_circuit_state', { endpoint: a.endpoint })) === 0, 10_000, 'A’s circuit to close');
    }
    await a.close();
  });
});
