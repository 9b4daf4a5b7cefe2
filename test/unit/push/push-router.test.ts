import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { resolveConfig } from '../../../src/core/options.ts';
import { SessionIdGenerator, workerOfSession } from '../../../src/core/session-id.ts';
import { MAX_PAYLOAD_BYTES } from '../../../src/protocol/frame.ts';
import { PushRouter, type PushWorkers } from '../../../src/push/push-router.ts';
import { Target, unpackItems, type PushInput, type PushItem } from '../../../src/push/push-item.ts';

const NODE_ID = 7;
const logger = pino({ level: 'silent' });
const payload = (text: string) => new TextEncoder().encode(text);
/** A push's sender: serverType 1 (serverType 0 is the gateway's own, and such a push is invalid). */
const SENDER = 0x100;

interface Posted {
  worker: number;
  id: number;
  items: PushItem[];
}

/** The supervisor side of the router: records each batch; `down` workers refuse posts as a stopped worker does. */
class FakeWorkers implements PushWorkers {
  readonly count: number;
  readonly posted: Posted[] = [];
  readonly down = new Set<number>();
  constructor(count: number) {
    this.count = count;
  }
  post(worker: number, id: number, items: Uint8Array): boolean {
    if (this.down.has(worker)) return false;
    this.posted.push({ worker, id, items: unpackItems(items) });
    return true;
  }
  to(worker: number): Posted[] {
    return this.posted.filter((p) => p.worker === worker);
  }
}

function rig(workers = 3) {
  const fake = new FakeWorkers(workers);
  const router = new PushRouter(resolveConfig({ nodeId: NODE_ID, workers }), fake, undefined, logger);
  return { fake, router };
}

const sessionOf = (worker: number, nodeId = NODE_ID) => new SessionIdGenerator(nodeId, worker).next();

/** Answers every batch posted so far: each item reached `reached(item, worker)` sessions on that worker. */
function answerAll(router: PushRouter, fake: FakeWorkers, reached: (item: PushItem, worker: number) => number): void {
  for (const { worker, id, items } of fake.posted.splice(0)) {
    router.onResult(worker, id, Uint32Array.from(items.map((item) => reached(item, worker))));
  }
}

describe('PushRouter', () => {
  it('drops invalid pushes (counted) and sends the valid ones of the same call', async () => {
    const { fake, router } = rig(1);
    const invalid: PushInput[] = [
      {}, // no target
      { userId: 'u', topic: 't' }, // two targets
      { sessionId: sessionOf(0), userId: 'u' },
      { userId: 42 as unknown as string }, // an HTTP body's wrong type
      { sessionId: 'not-a-number' },
      { sessionId: '0' },
      { sessionId: (1n << 64n).toString() },
      { topic: 'x'.repeat(10_000) },
      { userId: 'u', payload: 'text' as unknown as Uint8Array },
      { userId: 'u', payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1) },
      { userId: 'u', msgId: 0x10000 },
      { userId: 'u', serverId: -1 },
      { userId: 'u', serverId: 0x00ff }, // serverType 0: the gateway's own
      { userId: 'u' }, // no serverId: the same
    ];
    const call = router.route([...invalid, { userId: 'u', payload: payload('ok'), serverId: SENDER }]);
    assert.equal(fake.posted.length, 1);
    assert.deepEqual(fake.posted[0]!.items.map((i) => i.k), ['u'], 'only the valid push travels');
    answerAll(router, fake, () => 1);
    assert.deepEqual(await call, { accepted: 1, delivered: 1, dropped: invalid.length });
    assert.equal(router.stats.invalid, invalid.length);
    assert.equal(router.stats.accepted, 1);
  });

  it('sends a session push only to the worker its id names', async () => {
    const { fake, router } = rig(4);
    const id = sessionOf(2);
    assert.equal(workerOfSession(id), 2);
    const call = router.route([{ sessionId: id, msgId: 9, serverId: 0x10203, payload: payload('hi') }]);
    assert.deepEqual(fake.posted.map((p) => p.worker), [2]);
    const [item] = fake.posted[0]!.items;
    assert.equal(item!.t, Target.SESSION);
    assert.equal(item!.k, id);
    assert.equal(item!.m, 9);
    assert.equal(item!.s, 0x10203);
    assert.deepEqual(Buffer.from(item!.p).toString(), 'hi');
    answerAll(router, fake, () => 1);
    assert.deepEqual(await call, { accepted: 1, delivered: 1, dropped: 0 });
  });

  it('takes a session id as a decimal string or a bigint, and routes both the same', async () => {
    const { fake, router } = rig(4);
    const id = sessionOf(3);
    const call = router.route([{ sessionId: id, serverId: SENDER }, { sessionId: BigInt(id), serverId: SENDER }]);
    assert.deepEqual(fake.posted.map((p) => p.worker), [3]);
    assert.deepEqual(fake.posted[0]!.items.map((i) => i.k), [id, id]);
    answerAll(router, fake, () => 1);
    assert.equal((await call).delivered, 2);
  });

  it('sends user and topic pushes to every worker, one batch each per call', async () => {
    const { fake, router } = rig(3);
    const s1 = sessionOf(1);
    const call = router.route([{ userId: 'alice', serverId: SENDER }, { sessionId: s1, serverId: SENDER }, { topic: 'news', serverId: SENDER }]);
    assert.deepEqual(fake.posted.map((p) => p.worker).sort(), [0, 1, 2]);
    assert.deepEqual(fake.to(0)[0]!.items.map((i) => i.k), ['alice', 'news']);
    assert.deepEqual(fake.to(1)[0]!.items.map((i) => i.k), ['alice', s1, 'news'], 'in call order');
    assert.deepEqual(fake.to(2)[0]!.items.map((i) => i.k), ['alice', 'news']);
    answerAll(router, fake, () => 1);
    assert.deepEqual(await call, { accepted: 3, delivered: 7, dropped: 0 });
  });

  it('sums the sessions reached over workers, and counts a push that reached nobody as dropped', async () => {
    const { fake, router } = rig(3);
    const call = router.route([{ userId: 'alice', serverId: SENDER }, { topic: 'empty', serverId: SENDER }, { topic: 'news', serverId: SENDER }]);
    // alice: 2 sessions on worker 0, 1 on worker 2; 'news': 5 per worker; nobody has 'empty'.
    answerAll(router, fake, (item, worker) => (item.k === 'alice' ? [2, 0, 1][worker]! : item.k === 'news' ? 5 : 0));
    assert.deepEqual(await call, { accepted: 3, delivered: 18, dropped: 1 });
    assert.equal(router.stats.delivered, 18);
    assert.equal(router.stats.noTarget, 1);
  });

  it('settles only once every worker sent a batch has answered', async () => {
    const { fake, router } = rig(2);
    let settled = false;
    const call = router.route([{ topic: 'news', serverId: SENDER }]).then((summary) => ((settled = true), summary));
    const [first, second] = fake.posted.splice(0);
    router.onResult(first!.worker, first!.id, Uint32Array.of(4));
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(settled, false);
    router.onResult(first!.worker, first!.id, Uint32Array.of(4)); // a duplicate answer is not counted twice
    router.onResult(second!.worker, second!.id, Uint32Array.of(3));
    assert.deepEqual(await call, { accepted: 1, delivered: 7, dropped: 0 });
  });

  it('counts what a worker that is down or that ends unanswered was sent as reaching nobody there', async () => {
    const { fake, router } = rig(3);
    fake.down.add(1);
    const call = router.route([{ topic: 'news', serverId: SENDER }, { sessionId: sessionOf(1), serverId: SENDER }, { sessionId: sessionOf(2), serverId: SENDER }]);
    assert.deepEqual(fake.posted.map((p) => p.worker).sort(), [0, 2], 'nothing posted to the stopped worker');
    const toWorker2 = fake.to(2)[0]!;
    router.onResult(0, fake.to(0)[0]!.id, Uint32Array.of(2));
    router.workerGone(2);
    assert.deepEqual(await call, { accepted: 3, delivered: 2, dropped: 2 }, 'the two session pushes reached nobody');
    router.onResult(2, toWorker2.id, Uint32Array.of(1, 1)); // too late: ignored
    assert.equal(router.stats.delivered, 2);
  });

  it('drops a session push whose id names another node or a worker this gateway does not have (no Redis)', async () => {
    const { fake, router } = rig(2);
    const summary = await router.route([{ sessionId: sessionOf(0, NODE_ID + 1), serverId: SENDER }, { sessionId: sessionOf(5), serverId: SENDER }]);
    assert.equal(fake.posted.length, 0);
    assert.deepEqual(summary, { accepted: 2, delivered: 0, dropped: 2 });
  });

  it('settles a call with nothing to send at once', async () => {
    const { router } = rig(2);
    assert.deepEqual(await router.route([]), { accepted: 0, delivered: 0, dropped: 0 });
    assert.deepEqual(await router.route([{}]), { accepted: 0, delivered: 0, dropped: 1 });
  });

  it('close() settles the calls still waiting on workers', async () => {
    const { fake, router } = rig(2);
    const call = router.route([{ userId: 'alice', serverId: SENDER }]);
    router.onResult(0, fake.to(0)[0]!.id, Uint32Array.of(1));
    router.close();
    assert.deepEqual(await call, { accepted: 1, delivered: 1, dropped: 0 });
  });
});
