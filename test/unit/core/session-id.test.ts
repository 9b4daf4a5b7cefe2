import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  EPOCH_MS,
  MAX_LEAD_TICKS,
  MAX_NODE_ID,
  MAX_WORKERS,
  SessionIdGenerator,
  TICKS_PER_SECOND,
  createIdClockState,
  parseSessionId,
  workerOfSession,
} from '../../../src/core/session-id.ts';

const T0 = EPOCH_MS + 1_000_000 * 1000; // a fixed wall-clock instant, whole second

/** A settable clock; `sleep` advances it, as real time would pass while the generator waits. */
function clock(start = T0) {
  let now = start;
  let slept = 0;
  return {
    now: () => now,
    sleep: (ms: number) => {
      assert.ok(ms > 0, `sleep(${ms})`);
      slept += ms;
      now += ms;
    },
    advance(ms: number) {
      now += ms;
    },
    get slept() {
      return slept;
    },
  };
}

type Clock = ReturnType<typeof clock>;

/** A generator as one process start creates it: fresh clock state anchored at the clock's current time. */
function processStart(c: Clock, nodeId = 9, worker = 2, state = createIdClockState(c.now())): SessionIdGenerator {
  return new SessionIdGenerator(nodeId, worker, state, c.now, c.sleep);
}

function generate(gen: SessionIdGenerator, n: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(gen.next());
  return ids;
}

/** The id's clock in ticks of 1/16384 s since EPOCH_MS. */
function tickOf(id: string): number {
  const { seconds, seq } = parseSessionId(id);
  return seconds * TICKS_PER_SECOND + seq;
}

const ticksAt = (ms: number) => Math.floor(((ms - EPOCH_MS) * TICKS_PER_SECOND) / 1000);

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('SessionIdGenerator', () => {
  it('never reissues an id of a previous process with the same node id, even when it restarts within the same tick', () => {
    const c = clock();
    const before = generate(processStart(c), 10);
    const after = generate(processStart(c), 10); // crash-restart: same node id, same worker, clock not moved
    assert.equal(new Set([...before, ...after]).size, 20);
  });

  it('never reissues an id a previous process issued ahead of its clock in a burst just before it ended', () => {
    const c = clock();
    c.advance(5000); // let the first process pass its start-up lead, so it may burst
    const first = processStart(c, 9, 2, createIdClockState(T0));
    const burst = generate(first, MAX_LEAD_TICKS + 1000); // runs the full lead ahead of the clock
    assert.ok(tickOf(burst.at(-1)!) - ticksAt(c.now()) === MAX_LEAD_TICKS, 'the burst used the whole lead');
    const second = generate(processStart(c), 5000); // restarted at once
    const all = new Set([...burst, ...second]);
    assert.equal(all.size, burst.length + second.length);
    assert.ok(tickOf(second[0]!) > tickOf(burst.at(-1)!));
  });

  it('a crash loop of processes with random bursts and restart delays never repeats an id', () => {
    const next = random(42);
    const c = clock();
    const seen = new Set<string>();
    for (let run = 0; run < 20; run++) {
      const gen = processStart(c);
      const steps = 1 + Math.floor(next() * 3);
      for (let s = 0; s < steps; s++) {
        for (const id of generate(gen, Math.floor(next() ** 2 * 3 * TICKS_PER_SECOND))) {
          assert.ok(!seen.has(id), `run ${run} repeated ${id}`);
          seen.add(id);
        }
        c.advance(next() < 0.3 ? 0 : Math.floor(next() * 3000));
      }
      c.advance(next() < 0.5 ? 0 : Math.floor(next() * 50)); // restart delay, often none
    }
    assert.ok(seen.size > 50_000);
  });

  it('never runs more than MAX_LEAD_TICKS ahead of the clock: a long burst waits for it instead', () => {
    const c = clock();
    const gen = processStart(c);
    let previous = -1;
    for (let i = 0; i < 100_000; i++) {
      const tick = tickOf(gen.next());
      assert.ok(tick > previous, `id ${i} not increasing`);
      assert.ok(tick <= ticksAt(c.now()) + MAX_LEAD_TICKS, `id ${i} ran ahead of the lead`);
      previous = tick;
    }
    // 100k ids need 100k ticks of clock: the generator waited for about that long.
    assert.ok(c.slept >= ((100_000 - 1) * 1000) / TICKS_PER_SECOND - 1, `slept ${c.slept} ms`);
  });

  it('a fresh process issues one id per tick elapsed since it started, and may burst once its start-up lead passed', () => {
    const c = clock();
    const gen = processStart(c);
    c.advance(1000); // one second after start: 16,384 ticks elapsed
    generate(gen, TICKS_PER_SECOND);
    assert.equal(c.slept, 0, 'no wait for the ids the elapsed time covers');
    gen.next();
    assert.ok(c.slept > 0, 'the next one waits');
    c.advance(10_000); // idle past the lead: the whole burst allowance is back
    const slept = c.slept;
    generate(gen, MAX_LEAD_TICKS);
    assert.equal(c.slept, slept);
  });

  it('ids follow the clock when idle: the time field is the wall-clock second', () => {
    const c = clock();
    const gen = processStart(c);
    c.advance(60_000.5);
    const parts = parseSessionId(gen.next());
    assert.equal(parts.seconds, (T0 - EPOCH_MS) / 1000 + 60);
    assert.equal(parts.seq, Math.floor((0.5 * TICKS_PER_SECOND) / 1000));
    assert.deepEqual([parts.nodeId, parts.worker], [9, 2]);
  });

  it('ids from one generator increase strictly and fit in 64 bits', () => {
    const c = clock();
    const gen = processStart(c, MAX_NODE_ID, MAX_WORKERS - 1);
    let previous = -1n;
    for (let i = 0; i < 40_000; i++) {
      if (i % 1000 === 0) c.advance(10); // time moves, slower than the ids
      const id = BigInt(gen.next());
      assert.ok(id > previous, `id ${i} not increasing`);
      assert.ok(id < 2n ** 64n);
      previous = id;
    }
  });

  it('a restarted worker sharing the clock state never repeats its predecessor', () => {
    const c = clock();
    const state = createIdClockState(c.now());
    const before = generate(processStart(c, 9, 2, state), 20_000);
    const after = generate(processStart(c, 9, 2, state), 20_000);
    assert.equal(new Set([...before, ...after]).size, before.length + after.length);
    assert.ok(tickOf(after[0]!) > tickOf(before.at(-1)!));
  });

  it('with the default clock, a wall-clock step back during the run changes nothing', (t) => {
    const state = createIdClockState();
    const gen = new SessionIdGenerator(3, 4, state);
    const first = parseSessionId(gen.next());
    const realNow = Date.now();
    t.mock.method(Date, 'now', () => realNow - 3_600_000); // an hour back (NTP step)
    const later = generate(gen, 100).map((id) => BigInt(id));
    for (let i = 1; i < later.length; i++) assert.ok(later[i]! > later[i - 1]!);
    const last = parseSessionId(later.at(-1)!);
    assert.ok(last.seconds >= first.seconds && last.seconds <= first.seconds + 3, 'the time field did not step back');
  });

  it('different node ids never collide', () => {
    const c = clock();
    const a = generate(processStart(c, 1, 0), 20_000);
    const b = generate(processStart(c, 2, 0), 20_000);
    assert.equal(new Set([...a, ...b]).size, a.length + b.length);
  });

  it('different workers of one node never collide', () => {
    const c = clock();
    const a = generate(processStart(c, 1, 0), 20_000);
    const b = generate(processStart(c, 1, 1), 20_000);
    assert.equal(new Set([...a, ...b]).size, a.length + b.length);
  });

  it('parseSessionId and workerOfSession recover node id and worker', () => {
    const c = clock();
    for (const [nodeId, worker] of [[0, 0], [1, 63], [MAX_NODE_ID, 0], [4242, 17], [MAX_NODE_ID, MAX_WORKERS - 1]] as const) {
      for (const id of generate(processStart(c, nodeId, worker), 3)) {
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
