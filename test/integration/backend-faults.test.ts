import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, PacketKind, connectClient, packServerId, startMockBackend, waitUntil, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { metric, testGateway, urlOf } from './helpers.ts';
import { startBackendProcess } from './backend-process.ts';

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

describe('backend faults', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  test('a backend process killed mid-traffic and started again: clients get codes, traffic resumes, order kept', async () => {
    let backend = await startBackendProcess();
    cleanups.push(() => backend.kill());
    const gateway = await testGateway({
      routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
      backend: { reconnectInitialMs: 20, reconnectMaxMs: 200, maxQueueAgeMs: 300, circuitOpenMs: 200, failoverAfterMs: 600_000 },
    });
    cleanups.push(() => gateway.close());
    const clients = await Promise.all(Array.from({ length: 3 }, () => connectClient(urlOf(gateway))));
    const seq = clients.map(() => 0);
    const pump = setInterval(() => clients.forEach((c, i) => c.send(1, GAME, seqPayload(seq[i]!++))), 2);
    try {
      await waitUntil(() => clients.every((c) => c.frames.length >= 50), 10_000, 'traffic before the kill');
      await backend.kill();
      await waitUntil(() => clients.every((c) => errorCodes(c).length > 0), 10_000, 'every client to be told');
      const restartedAtSeq = [...seq];
      backend = await startBackendProcess(backend.port);
      await waitUntil(
        () => clients.every((c, i) => echoedSeqs(c, GAME).some((s) => s > restartedAtSeq[i]! + 50)),
        20_000,
        'traffic to resume through the restarted backend',
      );
    } finally {
      clearInterval(pump);
    }
    for (const client of clients) {
      assert.ok(strictlyIncreasing(echoedSeqs(client, GAME)), 'echoes never reordered');
      const codes = new Set(errorCodes(client));
      for (const code of codes) assert.ok([Code.BACKEND_EXPIRED, Code.BACKEND_UNAVAILABLE, Code.BACKEND_OVERLOADED].includes(code as never), `code ${code}`);
    }
    // The new process saw every session re-opened before its first DATA on the new stream.
    for (const client of clients) assert.match(backend.output(), new RegExp(`first-data ${client.sessionId} after-open`));
    assert.doesNotMatch(backend.output(), /WITHOUT-OPEN/);
    assert.ok((await metric(gateway, 'actorgate_backend_stream_failures_total')) >= 1);
    for (const client of clients) await client.close();
  });

  test('a backend that never reads: circuit opens (fail fast), unbound sessions go to a healthy endpoint, memory stays bounded, and the circuit closes through half-open', async () => {
    const stalled = await startMockBackend();
    const healthy = await startMockBackend();
    cleanups.push(() => stalled.close(), () => healthy.close());
    const gateway: Gateway = await testGateway({
      routes: [
        { serverType: 1, endpoints: [stalled.endpoint, healthy.endpoint], strategy: 'round-robin' },
        { serverType: 2, endpoints: [stalled.endpoint] },
      ],
      backend: { mailboxCapacity: 50, maxBatchPackets: 8, writeStallMs: 150, circuitFailureThreshold: 2, circuitOpenMs: 300 },
    });
    cleanups.push(() => gateway.close());
    await stalled.waitForStreams(2);
    stalled.stall();

    const stuck = await connectClient(urlOf(gateway));
    const payload = Buffer.alloc(1024, 1);
    const labels = { worker: stuck.worker, endpoint: stalled.endpoint };
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

    // Bounded: the mailbox never passes its bound, and nothing more is written into grpc-js while the write stalls.
    const sentBefore = await metric(gateway, 'actorgate_backend_packets_sent_total', labels);
    for (let i = 0; i < 500; i++, next++) stuck.send(next, STUCK, Buffer.concat([seqPayload(next), payload]));
    stuck.heartbeat();
    await stuck.waitForControl('heartbeat');
    assert.equal(await metric(gateway, 'actorgate_backend_packets_sent_total', labels), sentBefore);
    assert.ok((await metric(gateway, 'actorgate_backend_mailbox_depth', labels)) <= 50);

    // New sessions under the two-endpoint rule all bind to the healthy endpoint while the circuit is open.
    const fresh = [];
    for (let i = 0; i < 4; i++) {
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

    // While still stalled, half-open lets a probe through and the stall opens it again.
    await waitUntil(async () => (await metric(gateway, 'actorgate_backend_circuit_half_opened_total', labels)) >= 1, 10_000, 'half-open');
    stalled.resume();
    await waitUntil(async () => (await metric(gateway, 'actorgate_backend_circuit_state', labels)) === 0, 10_000, 'the circuit to close');
    stuck.send(next, STUCK, seqPayload(next));
    await stuck.waitForFrame((f) => f.msgId === next, 10_000);
    assert.ok(strictlyIncreasing(echoedSeqs(stuck, STUCK)), 'queued messages were delivered in order');
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
    }
    await a.close();
  });
});
