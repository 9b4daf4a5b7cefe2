/** The fairness benchmark's pure parts: round order, pooling, the ratio and the verdict against the goal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogHistogram } from '../../../bench/lib/histogram.ts';
import { floodRatios, pooled, roundOrder, type FairnessResult, type FairnessRun } from '../../../bench/suite/fairness.ts';
import { fairnessGoal, fairnessSection, fairnessVerdict } from '../../../bench/suite/report-fairness.ts';
import type { SuiteResult } from '../../../bench/suite/report-data.ts';

/** A histogram of `n` samples at `us` each. */
function flat(us: number, n = 1000) {
  const h = new LogHistogram();
  for (let i = 0; i < n; i++) h.record(us);
  return h.toJSON();
}

const p99Of = (us: number) => LogHistogram.from(flat(us)).percentiles().p99;

test('rounds alternate which condition runs first', () => {
  assert.deepEqual(roundOrder(0), [false, true]);
  assert.deepEqual(roundOrder(1), [true, false]);
  assert.deepEqual(roundOrder(2), [false, true]);
});

test('pooling merges only the runs of one condition', () => {
  const runs = [
    { flood: false, histogram: flat(100) },
    { flood: true, histogram: flat(5000) },
    { flood: false, histogram: flat(100) },
  ];
  const calm = pooled(runs, false);
  assert.equal(calm.latency.count, 2000);
  assert.equal(calm.latency.p99, p99Of(100));
  assert.equal(pooled(runs, true).latency.count, 1000);
});

test('the ratio is pooled p99 with flood over without, and each round has its own', () => {
  // Round 1: without 100 µs, with 200; round 2 (reversed order): with 400, without 100.
  const runs = [
    { flood: false, histogram: flat(100) },
    { flood: true, histogram: flat(200) },
    { flood: true, histogram: flat(400) },
    { flood: false, histogram: flat(100) },
  ];
  const r = floodRatios(runs);
  assert.equal(r.roundRatios.length, 2);
  assert.ok(Math.abs(r.roundRatios[0]! - p99Of(200) / p99Of(100)) < 1e-9);
  assert.ok(Math.abs(r.roundRatios[1]! - p99Of(400) / p99Of(100)) < 1e-9);
  // Half the flooded samples are at 400 µs: the pooled p99 is theirs.
  assert.ok(Math.abs(r.ratio - p99Of(400) / p99Of(100)) < 1e-9);
  assert.equal(r.flooded.latency.count, 2000);
});

test('a round that lacks a condition has no ratio', () => {
  const r = floodRatios([{ flood: false, histogram: flat(100) }]);
  assert.ok(Number.isNaN(r.roundRatios[0]));
});

test('the verdict is met at or under 1.1× and says by how much it missed', () => {
  assert.equal(fairnessVerdict(1.05), 'met');
  assert.equal(fairnessVerdict(1.1), 'met');
  assert.equal(fairnessVerdict(1.65), 'missed by 50.0%');
  assert.equal(fairnessVerdict(Number.NaN), 'not measured');
});

function fairnessOf(target: string, calmUs: number, floodUs: number): FairnessResult {
  const run = (flood: boolean): FairnessRun => {
    const histogram = flat(flood ? floodUs : calmUs);
    return {
      flood,
      histogram,
      sendLateness: LogHistogram.from(flat(5)).percentiles(),
      flooder: { sent: flood ? 5000 : 0, echoed: flood ? 1000 : 0, echoedInWindow: flood ? 1000 : 0, errors: flood ? { '4100': 4000 } : {}, clientBehind: 0, unanswered: 0 },
      gateway: target === 'naive' ? null : { sessionShare: flood ? 4200 : 0, mailboxFull: 0, byReason: flood ? { session_overloaded: 4200 } : {} },
      mailboxPeak: target === 'naive' ? null : 1024,
      rate: 1000,
      targetUsPerMessage: 10,
      cpu: { target: 0.5, loadgen: 0.3, loadgenBusiestThread: 0.2, backend: 0.2, machine: 1.1, steal: 0, other: 0 },
      latency: LogHistogram.from(histogram).percentiles(),
      unanswered: 0,
      errors: {},
      outOfOrder: 0,
      clientBehind: 0,
      clientBound: false,
    };
  };
  const runs = [run(false), run(true)];
  return {
    target,
    settings: { quietConnections: 99, payloadBytes: 32, load: 0.25, floodWindow: 4096, mailboxCapacity: 4096, sessionShare: 1024, rounds: 1, warmupMs: 1000, measureMs: 2000, drainMs: 3000 },
    quietRate: 1000,
    loadThreads: { quiet: [1], flooder: [0] },
    runs,
    ...floodRatios(runs),
  };
}

test('the goal row reads actorgate (2 workers) and names the naive gateway beside it', () => {
  const result = { fairness: [fairnessOf('actorgate-2', 1000, 1050), fairnessOf('naive', 1000, 50_000)] } as unknown as SuiteResult;
  const row = fairnessGoal(result);
  assert.equal(row.verdict, 'met');
  assert.equal(row.missed, false);
  assert.equal(row.goal, '≤ 1.1×');
  assert.match(row.measured, /naive gateway/);
  const missed = fairnessGoal({ fairness: [fairnessOf('actorgate-2', 1000, 2000)] } as unknown as SuiteResult);
  assert.equal(missed.missed, true);
  assert.match(missed.verdict, /^missed by \d+(\.\d)?%$/);
});

test('a run from before the scenario renders no subsection and an unmeasured goal', () => {
  const old = {} as SuiteResult;
  assert.equal(fairnessSection(old), '');
  assert.equal(fairnessGoal(old).verdict, 'not measured');
});

test('the subsection has a table per target and the ratios', () => {
  const text = fairnessSection({
    machine: { cores: 2 },
    fairness: [fairnessOf('actorgate-2', 1000, 1050), fairnessOf('naive', 1000, 50_000)],
  } as unknown as SuiteResult);
  assert.match(text, /^### Fairness inside one backend/);
  assert.match(text, /actorgate, 2 workers\*\*/);
  assert.match(text, /naive gateway/);
  assert.match(text, /4,200 at the share/);
  assert.match(text, /Fairness ratio/);
});
