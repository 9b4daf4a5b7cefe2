import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionMemory, createAdmissionBuffer, SKETCH_WIDTH } from '../../../src/core/admission-memory.ts';
import { ConnectionSketch } from '../../../src/core/connection-sketch.ts';
import { SharedRate, UpgradeRates } from '../../../src/core/shared-rate.ts';

/** Two workers' views of one buffer, as two threads would hold them. */
function twoWorkers(): { buffer: SharedArrayBuffer; a: ConnectionSketch; b: ConnectionSketch; memory: AdmissionMemory } {
  const buffer = createAdmissionBuffer(2);
  return { buffer, a: new ConnectionSketch(new AdmissionMemory(buffer), 0), b: new ConnectionSketch(new AdmissionMemory(buffer), 1), memory: new AdmissionMemory(buffer) };
}

describe('ConnectionSketch', () => {
  it("counts an address's connections across workers, and the process's total", () => {
    const { a, b } = twoWorkers();
    a.opened('10.0.0.1', true);
    a.opened('10.0.0.1', true);
    b.opened('10.0.0.1', true);
    b.opened('10.0.0.2', true);
    assert.equal(a.count('10.0.0.1'), 3, 'seen from worker 0');
    assert.equal(b.count('10.0.0.1'), 3, 'seen from worker 1');
    assert.equal(a.count('10.0.0.2'), 1);
    assert.equal(a.count('10.0.0.3'), 0);
    assert.equal(b.total(), 4);
    a.closed('10.0.0.1', true);
    b.closed('10.0.0.1', true);
    assert.equal(a.count('10.0.0.1'), 1);
    assert.equal(a.total(), 2);
  });

  it('with the per-address limit off it keeps only the total', () => {
    const { a } = twoWorkers();
    a.opened('10.0.0.1', false);
    assert.equal(a.total(), 1);
    assert.equal(a.count('10.0.0.1'), 0);
  });

  it("a worker's reset (its thread ended) forgets exactly what that worker counted", () => {
    const { a, b, memory } = twoWorkers();
    for (let i = 0; i < 5; i++) a.opened('192.0.2.1', true);
    b.opened('192.0.2.1', true);
    memory.resetWorker(0);
    assert.equal(b.count('192.0.2.1'), 1);
    assert.equal(b.total(), 1);
  });

  it('10,000 addresses with 5 connections each and one with 1000: nobody is undercounted, the light ones read a few over, the heavy one eats nobody\'s budget', () => {
    const { a, b } = twoWorkers();
    const addresses = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    for (const address of addresses) for (let i = 0; i < 5; i++) (i % 2 === 0 ? a : b).opened(address, true);
    for (let i = 0; i < 1000; i++) a.opened('198.51.100.77', true);
    const over = addresses.map((address) => a.count(address) - 5);
    assert.ok(over.every((n) => n >= 0), 'never undercounted');
    const mean = over.reduce((x, y) => x + y, 0) / over.length;
    assert.ok(mean < 3, `mean overcount ${mean}`);
    // Reaching the heavy address's 1000 takes sharing both cells with it: 1 in 2^28 per address.
    assert.ok(Math.max(...over) < 100, `largest overcount ${Math.max(...over)}`);
    assert.equal(a.count('198.51.100.77') >= 1000 && a.count('198.51.100.77') < 1100, true);
  });

  it('the seeds differ per buffer, so no fixed pair of addresses shares its cells on every process', () => {
    const pairs = Array.from({ length: 8 }, () => {
      const memory = new AdmissionMemory(createAdmissionBuffer(1));
      memory.cellsOf('203.0.113.9');
      return `${memory.cell0}/${memory.cell1}`;
    });
    assert.ok(new Set(pairs).size > 1);
    const memory = new AdmissionMemory(createAdmissionBuffer(1));
    memory.cellsOf('203.0.113.9');
    assert.ok(memory.cell0 < SKETCH_WIDTH && memory.cell1 >= SKETCH_WIDTH && memory.cell1 < 2 * SKETCH_WIDTH);
  });
});

describe('SharedRate (GCRA in one shared cell)', () => {
  it('takes its burst, then one token per interval; another thread view of the cell sees the same bucket', () => {
    const cells = new BigInt64Array(new SharedArrayBuffer(16));
    const rate = new SharedRate(cells, { perSecond: 10, burst: 3 });
    const other = new SharedRate(new BigInt64Array(cells.buffer), { perSecond: 10, burst: 3 });
    const t = 1_000_000_000_000n; // ns
    assert.deepEqual([rate.take(0, t), other.take(0, t), rate.take(0, t), other.take(0, t)], [true, true, true, false]);
    assert.equal(rate.take(0, t + 50_000_000n), false, '50 ms: half an interval');
    assert.equal(other.take(0, t + 100_000_000n), true, '100 ms: one interval');
    assert.equal(rate.take(1, t), true, 'another cell is another bucket');
  });

  it('keeps a rate that is not a whole number of microseconds per token (300,000 a second)', () => {
    const rate = new SharedRate(new BigInt64Array(new SharedArrayBuffer(8)), { perSecond: 300_000, burst: 5 });
    let taken = 0;
    // One attempt every 100 ns for 10 ms: the burst, then the rate, not the 333,333/s of a 3 µs interval.
    for (let t = 0n; t < 10_000_000n; t += 100n) if (rate.take(0, 1_000_000_000_000n + t)) taken++;
    assert.ok(Math.abs(taken - 3005) <= 2, `${taken} in 10 ms`);
  });

  it("per address: one address's flood empties its own bucket, not another's", () => {
    const memory = new AdmissionMemory(createAdmissionBuffer(1));
    const rates = new UpgradeRates(memory, { perSecond: 0, burst: 1 }, { perSecond: 1, burst: 5 });
    const now = Date.now();
    let flooder = 0;
    for (let i = 0; i < 100; i++) if (rates.takeAddress('198.51.100.1', now)) flooder++;
    assert.equal(flooder, 5);
    assert.equal(rates.takeAddress('198.51.100.2', now), true);
    assert.equal(rates.takeAddress('198.51.100.1', now + 1000), true, 'refilled one token a second later');
    assert.equal(rates.takeProcess(now), true, 'the process rate is off');
  });

  it('the process bucket is shared by every worker view', () => {
    const buffer = createAdmissionBuffer(2);
    const spec = { perSecond: 100, burst: 4 };
    const workers = [0, 1].map(() => new UpgradeRates(new AdmissionMemory(buffer), spec, { perSecond: 0, burst: 1 }));
    const now = Date.now();
    const taken = Array.from({ length: 10 }, (_, i) => workers[i % 2]!.takeProcess(now)).filter(Boolean).length;
    assert.equal(taken, 4);
  });
});
