/**
 * The stream actor in-process, against a real grpc-js backend (the testkit's MockBackend): its one guarded state
 * machine, a stream replaced after a failure, close and destroy, and expiry while the backend is down.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { PacketKind } from '../../../src/backend/proto.ts';
import { SendResult, StreamActor, type StreamActorOptions } from '../../../src/backend/stream-actor.ts';
import { dataPacket, type StreamPacket } from '../../../src/backend/stream-packet.ts';
import type { SessionInfo } from '../../../src/backend/stream-sessions.ts';
import { CoarseClock } from '../../../src/core/coarse-clock.ts';
import { ENDPOINT_SLOTS, EndpointSlot } from '../../../src/core/counters.ts';
import type { Logger } from '../../../src/core/logger.ts';
import { resolveConfig } from '../../../src/core/options.ts';
import { SessionIdGenerator } from '../../../src/core/session-id.ts';
import { Code } from '../../../src/protocol/codes.ts';
import { MockBackend } from '../../../src/testkit/mock-backend.ts';
import { freePort } from '../../../src/testkit/free-port.ts';
import { waitUntil } from '../../../src/testkit/wait.ts';

const clock = new CoarseClock(10);
clock.start();
after(() => clock.stop());
const ids = new SessionIdGenerator(1, 0);

/** A pino logger whose lines are kept, parsed. */
function captured(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

function session(): SessionInfo {
  const id = ids.issue();
  return { id: id.text, key: id.key, idLo: id.lo, idHi: id.hi, path: '/test', remoteAddress: '127.0.0.1', userId: undefined };
}

const data = (s: SessionInfo, msgId: number): StreamPacket => dataPacket(s.idLo, s.idHi, msgId, 0x0100, Buffer.from(`m${msgId}`));

interface Rig {
  actor: StreamActor;
  counters: Float64Array;
  lines: Record<string, unknown>[];
  dropped: [StreamPacket, number][];
}

function rig(endpoint: string, backend: Record<string, number> = {}): Rig {
  const { logger, lines } = captured();
  const counters = new Float64Array(ENDPOINT_SLOTS);
  const dropped: [StreamPacket, number][] = [];
  const options: StreamActorOptions = {
    endpoint,
    gateName: 'test/0',
    worker: 0,
    backend: resolveConfig({ routes: [{ serverType: 1, endpoints: [endpoint] }], backend: { reconnectInitialMs: 20, reconnectMaxMs: 100, ...backend } }).backend,
    counters,
    logger,
    clock,
    onBatch: () => {},
    onDropped: (packet, code) => void dropped.push([packet, code]),
    onFailover: () => {},
  };
  return { actor: new StreamActor(options), counters, lines, dropped };
}

const refusals = (lines: Record<string, unknown>[]) => lines.filter((l) => l.msg === 'stream actor: refused illegal state transition');

describe('StreamActor', () => {
  it('changes state only through its guarded transition: a second start() is refused and logged, and nothing breaks', async () => {
    await using backend = await new MockBackend({ mode: 'record' }).listen();
    const { actor, lines } = rig(backend.endpoint);
    try {
      actor.start();
      actor.start();
      assert.deepEqual(refusals(lines).map((l) => [l.from, l.to]), [['connecting', 'connecting']]);
      await waitUntil(() => actor.state === 'ready', 5000, 'stream ready');
      const s = session();
      actor.bind(s, false);
      assert.equal(actor.send(data(s, 1)), SendResult.QUEUED);
      const packets = await backend.waitForPackets(2);
      assert.deepEqual(packets.map((p) => [p.kind, p.sessionId]), [[PacketKind.OPEN, s.id], [PacketKind.DATA, s.id]]);
    } finally {
      actor.destroy();
    }
  });

  it('replaces a failed stream with a new one that re-OPENs each session before its next DATA', async () => {
    await using backend = await new MockBackend({ mode: 'record' }).listen();
    const { actor, counters } = rig(backend.endpoint);
    try {
      actor.start();
      await waitUntil(() => actor.state === 'ready', 5000, 'stream ready');
      const s = session();
      actor.bind(s, false);
      actor.send(data(s, 1));
      await backend.waitForPackets(2);
      backend.abortStreams();
      await waitUntil(() => counters[EndpointSlot.STREAM_FAILURES] === 1 && actor.state === 'ready', 5000, 'a second stream');
      actor.send(data(s, 2));
      const second = await backend.waitForPackets(2, (p) => p.stream === 1);
      assert.deepEqual(second.map((p) => [p.kind, p.msgId]), [[PacketKind.OPEN, 0], [PacketKind.DATA, 2]]);
      assert.equal(counters[EndpointSlot.IN_FLIGHT_BYTES], 0);
      assert.equal(counters[EndpointSlot.MAILBOX_DEPTH], 0);
    } finally {
      actor.destroy();
    }
  });

  it('close() flushes queued CLOSEs and half-closes; afterwards it refuses messages and a start() is refused', async () => {
    await using backend = await new MockBackend({ mode: 'record' }).listen();
    const { actor, lines } = rig(backend.endpoint);
    actor.start();
    await waitUntil(() => actor.state === 'ready', 5000, 'stream ready');
    const s = session();
    actor.bind(s, false);
    actor.send(data(s, 1));
    actor.closeSession(s, Code.SHUTDOWN, 'bye', false);
    const closing = actor.close(2000);
    assert.equal(actor.close(2000), closing, 'idempotent');
    await closing;
    assert.equal(actor.state, 'closed');
    assert.deepEqual(backend.packets.map((p) => p.kind), [PacketKind.OPEN, PacketKind.DATA, PacketKind.CLOSE]);
    assert.equal(backend.packets[2]!.reason, 'bye');
    await backend.waitForCondition((b) => b.streams === 0, 5000, 'the half-closed stream to end');
    assert.equal(actor.send(data(s, 2)), SendResult.UNAVAILABLE);
    actor.start();
    assert.deepEqual(refusals(lines).map((l) => [l.from, l.to]), [['closed', 'connecting']]);
  });

  it('while the endpoint is down, hands back queued DATA as BACKEND_EXPIRED only once it is older than maxQueueAgeMs', async () => {
    const maxQueueAgeMs = 150;
    const { actor, counters, dropped } = rig(`127.0.0.1:${await freePort()}`, { maxQueueAgeMs, circuitFailureThreshold: 1_000_000 });
    try {
      actor.start();
      const s = session();
      actor.bind(s, false);
      const queuedAt = performance.now();
      for (let i = 1; i <= 3; i++) assert.equal(actor.send(data(s, i)), SendResult.QUEUED);
      assert.equal(counters[EndpointSlot.MAILBOX_DEPTH], 3);
      await waitUntil(() => dropped.length === 3, 5000, 'three expired packets');
      assert.ok(performance.now() - queuedAt >= maxQueueAgeMs, 'expired before its age');
      assert.deepEqual(dropped.map(([p, code]) => [p.msgId, code]), [[1, Code.BACKEND_EXPIRED], [2, Code.BACKEND_EXPIRED], [3, Code.BACKEND_EXPIRED]]);
      assert.equal(counters[EndpointSlot.EXPIRED], 3);
      assert.equal(counters[EndpointSlot.MAILBOX_DEPTH], 0);
    } finally {
      actor.destroy();
    }
  });

  it('destroy() drops and counts what is queued, and is idempotent', async () => {
    const { actor, counters } = rig(`127.0.0.1:${await freePort()}`);
    actor.start();
    const s = session();
    actor.bind(s, false);
    for (let i = 1; i <= 5; i++) actor.send(data(s, i));
    actor.destroy();
    actor.destroy();
    assert.equal(actor.state, 'closed');
    assert.equal(counters[EndpointSlot.DROPPED_ON_DESTROY], 5);
    assert.equal(counters[EndpointSlot.MAILBOX_DEPTH], 0);
    await actor.close(100);
  });
});
