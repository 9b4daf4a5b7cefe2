/**
 * The worker actor in-process (no worker thread): a real uWS app on an ephemeral port, a real grpc-js backend (the
 * testkit's MockBackend) and real clients. Its one guarded state machine, drain, and closing a session releasing
 * everything it held.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { PacketKind } from '../../../src/backend/proto.ts';
import { createCounterBuffer, WorkerCounters, WorkerSlot } from '../../../src/core/counters.ts';
import type { Logger } from '../../../src/core/logger.ts';
import { resolveConfig, type GatewayOptions } from '../../../src/core/options.ts';
import { createIdClockState, workerOfSession } from '../../../src/core/session-id.ts';
import { Code } from '../../../src/protocol/codes.ts';
import { packServerId } from '../../../src/protocol/frame.ts';
import { MockBackend } from '../../../src/testkit/mock-backend.ts';
import { connectClient } from '../../../src/testkit/protocol-client.ts';
import { waitUntil } from '../../../src/testkit/wait.ts';
import { WorkerActor } from '../../../src/worker/worker-actor.ts';
import type { WorkerEvent } from '../../../src/worker/worker-messages.ts';

const GAME = packServerId({ serverType: 1 });

interface Rig {
  actor: WorkerActor;
  events: WorkerEvent[];
  lines: Record<string, unknown>[];
  counters: Float64Array;
  url: string;
  [Symbol.asyncDispose](): Promise<void>;
}

function start(options: GatewayOptions): Rig {
  const config = resolveConfig({ listen: { host: '127.0.0.1', port: 0 }, ...options });
  const buffer = createCounterBuffer(config.routes.flatMap((r) => r.endpoints).length);
  const lines: Record<string, unknown>[] = [];
  const logger: Logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const events: WorkerEvent[] = [];
  const actor = new WorkerActor({ index: 3, port: 0, config, counters: buffer, idClock: createIdClockState() }, logger, (event) => events.push(event));
  actor.start();
  const listening = events.find((e) => e.type === 'listening');
  assert.ok(listening !== undefined && listening.type === 'listening', 'start() reports the port');
  return {
    actor,
    events,
    lines,
    counters: new WorkerCounters(buffer).worker,
    url: `ws://127.0.0.1:${listening.port}/`,
    [Symbol.asyncDispose]: () => actor.close(500),
  };
}

const refusals = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => l.msg === 'worker actor: refused illegal state transition').map((l) => [l.from, l.to]);

describe('WorkerActor', () => {
  it('changes state only through its guarded transition: a drain after close is refused and logged', async () => {
    const rig = start({});
    assert.equal(rig.actor.state, 'running');
    const closing = rig.actor.close(500);
    assert.equal(rig.actor.close(500), closing, 'close is idempotent');
    await closing;
    assert.equal(rig.actor.state, 'closed');
    rig.actor.drain(1000, '');
    assert.equal(rig.actor.state, 'closed');
    assert.deepEqual(refusals(rig.lines), [['closed', 'draining']]);
  });

  it('issues session ids that name it, and drains: DRAIN to every client, no new connections', async () => {
    await using rig = start({});
    const clients = await Promise.all([connectClient(rig.url), connectClient(rig.url)]);
    for (const client of clients) assert.equal(workerOfSession(client.sessionId), 3);
    assert.equal(rig.actor.sessions, 2);
    rig.actor.drain(1234, 'wss://other.example/');
    rig.actor.drain(1234, 'wss://other.example/');
    for (const client of clients) {
      const drain = await client.waitForControl('drain');
      assert.equal(drain.reconnectAfterMs, 1234);
    }
    assert.equal(rig.actor.state, 'draining');
    await assert.rejects(connectClient(rig.url, { connectTimeoutMs: 2000 }));
    assert.deepEqual(refusals(rig.lines), [], 'a second drain is not an illegal transition');
    await Promise.all(clients.map((c) => c.close()));
  });

  it('closing a session releases everything it held: topics, user, backend binding, counters', async () => {
    await using backend = await new MockBackend({ mode: 'echo' }).listen();
    await using rig = start({ routes: [{ serverType: 1, endpoints: [backend.endpoint] }], topics: { allow: ['news.*'] } });
    const client = await connectClient(rig.url);
    client.subscribe('news.a');
    client.subscribe('news.b');
    for (const topic of ['news.a', 'news.b']) assert.deepEqual(await client.waitForControl('subscribe-result'), { type: 'subscribe-result', code: 0, topic });
    assert.equal(rig.counters[WorkerSlot.SUBSCRIPTIONS], 2);
    client.send(1, GAME, 'hello');
    await backend.waitFor((p) => p.kind === PacketKind.DATA && p.sessionId === client.sessionId);
    backend.bindUser(client.sessionId, 'user-1');
    backend.subscribe(client.sessionId, 'room.1');
    assert.deepEqual(await client.waitForControl('subscribe-result'), { type: 'subscribe-result', code: 0, topic: 'room.1' });
    assert.equal(rig.counters[WorkerSlot.SUBSCRIPTIONS], 3);
    await client.close(1000, 'done');
    const close = await backend.waitFor((p) => p.kind === PacketKind.CLOSE && p.sessionId === client.sessionId);
    assert.equal(close.code, 1000);
    await waitUntil(() => rig.actor.sessions === 0, 2000, 'the session to be gone');
    assert.equal(rig.counters[WorkerSlot.SUBSCRIPTIONS], 0);
    assert.equal(rig.counters[WorkerSlot.SESSIONS], 0);
    assert.equal(rig.counters[WorkerSlot.SESSIONS_CLOSED], 1);
  });

  it('refuses a message for a route it does not have with NO_ROUTE, counted', async () => {
    await using rig = start({});
    const client = await connectClient(rig.url);
    client.send(7, GAME, 'x');
    const error = await client.waitForControl('error');
    assert.equal(error.code, Code.NO_ROUTE);
    assert.equal(error.refMsgId, 7);
    await client.close();
  });
});
