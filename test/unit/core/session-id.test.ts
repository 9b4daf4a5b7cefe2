import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  EPOCH_MS,
  MAX_NODE_ID,
  MAX_WORKERS,
  SessionIdGenerator,
  createIdClockState,
  parseSessionId,
  workerOfSession,
} from '../../../src/core/session-id.ts';

const SEQ_PER_SECOND = 1 << 14;
const T0 = EPOCH_MS + 1_000_000 * 1000; // a fixed wall-clock instant, whole second

/** A settable clock for the generator. */
function clock(start = T0) {
  let now = start;
  return {
    now: () => now,
    set(ms: number) {
      now = ms;
    },
  };
}

function generate(gen: SessionIdGenerator, n: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(gen.next());
  return ids;
}

describe('SessionIdGenerator', () => {
  it('gives 100k unique ids within one second, borrowing the next seconds on sequence overflow', () => {
    const c = clock();
    const gen = new SessionIdGenerator(17, 3, createIdClockState(), c.now);
    const ids = generate(gen, 100_000);
    assert.equal(new Set(ids).size, ids.length);
    const base = (T0 - EPOCH_MS) / 1000;
    const first = parseSessionId(ids[0]!);
    assert.deepEqual(first, { seconds: base, nodeId: 17, worker: 3, seq: 0 });
    // The 16,385th id no longer fits in the second: it borrows the next one.
    assert.deepEqual(parseSessionId(ids[SEQ_PER_SECOND - 1]!), { seconds: base, nodeId: 17, worker: 3, seq: SEQ_PER_SECOND - 1 });
    assert.deepEqual(parseSessionId(ids[SEQ_PER_SECOND]!), { seconds: base + 1, nodeId: 17, worker: 3, seq: 0 });
    const last = parseSessionId(ids[ids.length - 1]!);
    assert.equal(last.seconds, base + Math.floor((100_000 - 1) / SEQ_PER_SECOND));
  });

  it('ids from one generator increase strictly and fit in 64 bits', () => {
    const c = clock();
    const gen = new SessionIdGenerator(MAX_NODE_ID, MAX_WORKERS - 1, createIdClockState(), c.now);
    let previous = -1n;
    for (let i = 0; i < 40_000; i++) {
      if (i % 1000 === 0) c.set(T0 + i * 10); // time moves, slower than the ids
      const id = BigInt(gen.next());
      assert.ok(id > previous, `id ${i} not increasing`);
      assert.ok(id < 2n ** 64n);
      previous = id;
    }
  });

  it('after borrowing ahead, real time catching up does not repeat ids', () => {
    const c = clock();
    const gen = new SessionIdGenerator(1, 1, createIdClockState(), c.now);
    const ids = generate(gen, 3 * SEQ_PER_SECOND); // borrows up to base + 2
    c.set(T0 + 1000); // real time reaches a borrowed second
    ids.push(...generate(gen, 1000));
    c.set(T0 + 2500);
    ids.push(...generate(gen, 1000));
    c.set(T0 + 10_000);
    ids.push(...generate(gen, 1000));
    assert.equal(new Set(ids).size, ids.length);
  });

  it('parseSessionId and workerOfSession recover node id and worker', () => {
    const c = clock();
    for (const [nodeId, worker] of [[0, 0], [1, 63], [MAX_NODE_ID, 0], [4242, 17], [MAX_NODE_ID, MAX_WORKERS - 1]] as const) {
      const gen = new SessionIdGenerator(nodeId, worker, createIdClockState(), c.now);
      for (const id of generate(gen, 3)) {
        const parts = parseSessionId(id);
        assert.equal(parts.nodeId, nodeId);
        assert.equal(parts.worker, worker);
        assert.equal(workerOfSession(id), worker);
        assert.deepEqual(parseSessionId(BigInt(id)), parts);
      }
    }
  });

  it('ids are decimal strings', () => {
    const id = new SessionIdGenerator(5, 5).next();
    assert.match(id, /^[1-9][0-9]*$/);
  });

  it('a restarted worker sharing the clock state never repeats its predecessor', () => {
    const c = clock();
    const state = createIdClockState();
    const before = generate(new SessionIdGenerator(9, 2, state, c.now), 20_000); // ends in a borrowed second
    const after = generate(new SessionIdGenerator(9, 2, state, c.now), 20_000);
    const all = new Set([...before, ...after]);
    assert.equal(all.size, before.length + after.length);
  });

  it('a restarted worker sharing the clock state never repeats, even within one unborrowed second', () => {
    const c = clock();
    const state = createIdClockState();
    const before = generate(new SessionIdGenerator(9, 2, state, c.now), 10);
    const after = generate(new SessionIdGenerator(9, 2, state, c.now), 10);
    assert.equal(new Set([...before, ...after]).size, 20);
  });

  it('the clock going backwards never repeats an id', () => {
    const c = clock();
    const gen = new SessionIdGenerator(3, 4, createIdClockState(), c.now);
    const ids = generate(gen, 5000);
    c.set(T0 - 3_600_000); // an hour back (NTP step)
    ids.push(...generate(gen, 30_000));
    c.set(T0 + 500);
    ids.push(...generate(gen, 5000));
    c.set(T0 - 1000);
    ids.push(...generate(gen, 5000));
    assert.equal(new Set(ids).size, ids.length);
    const base = (T0 - EPOCH_MS) / 1000;
    for (const id of ids) assert.ok(parseSessionId(id).seconds >= base, 'time field never goes back');
  });

  it('different node ids never collide', () => {
    const c = clock();
    const a = generate(new SessionIdGenerator(1, 0, createIdClockState(), c.now), 20_000);
    const b = generate(new SessionIdGenerator(2, 0, createIdClockState(), c.now), 20_000);
    const all = new Set([...a, ...b]);
    assert.equal(all.size, a.length + b.length);
  });

  it('different workers of one node never collide', () => {
    const c = clock();
    const a = generate(new SessionIdGenerator(1, 0, createIdClockState(), c.now), 20_000);
    const b = generate(new SessionIdGenerator(1, 1, createIdClockState(), c.now), 20_000);
    assert.equal(new Set([...a, ...b]).size, a.length + b.length);
  });

  it('refuses a node id or worker out of range', () => {
    for (const nodeId of [-1, MAX_NODE_ID + 1, 1.5, Number.NaN]) {
      assert.throws(() => new SessionIdGenerator(nodeId, 0), RangeError, `nodeId ${nodeId}`);
    }
    for (const worker of [-1, MAX_WORKERS, 2.5, Number.NaN]) {
      assert.throws(() => new SessionIdGenerator(0, worker), RangeError, `worker ${worker}`);
    }
    assert.doesNotThrow(() => new SessionIdGenerator(MAX_NODE_ID, MAX_WORKERS - 1));
    assert.doesNotThrow(() => new SessionIdGenerator(0, 0));
  });
});
