/** The suite report's own arithmetic: sockstat parsing, differenced histograms, scaling per core-second, verdicts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTcpSockstat } from '../../../bench/lib/sockstat.ts';
import { windowHistogram } from '../../../bench/suite/breakdown.ts';
import type { MetricSample } from '../../../bench/lib/prometheus.ts';
import { scalingRows } from '../../../bench/suite/report-scaling.ts';
import { verdict } from '../../../bench/suite/verdict.ts';
import type { SuiteResult } from '../../../bench/suite/report-data.ts';

test('sockstat: the TCP line gives sockets in use and buffer memory in bytes', () => {
  const text = 'sockets: used 130\nTCP: inuse 91 orphan 0 tw 1305 alloc 94 mem 7\nUDP: inuse 0 mem 3\n';
  assert.deepEqual(parseTcpSockstat(text, 4096), { inuse: 91, memBytes: 7 * 4096 });
  assert.throws(() => parseTcpSockstat('UDP: inuse 0 mem 0\n', 4096), /no TCP line/);
});

/** A histogram's samples as a scrape shows them: cumulative buckets, count, sum. */
function scrape(name: string, labels: Record<string, string>, bounds: number[], perBucket: number[], sum: number): MetricSample[] {
  let total = 0;
  const out: MetricSample[] = bounds.map((b, i) => ({ name: `${name}_bucket`, labels: { ...labels, le: String(b) }, value: (total += perBucket[i]!) }));
  total += perBucket[bounds.length] ?? 0;
  out.push({ name: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: total });
  out.push({ name: `${name}_count`, labels, value: total }, { name: `${name}_sum`, labels, value: sum });
  return out;
}

test('a differenced histogram counts only the run between the scrapes, summed over the labels not asked for', () => {
  const bounds = [0.0005, 0.001, 0.005];
  const before = [...scrape('h', { worker: '0' }, bounds, [100, 0, 0, 0], 0.01), ...scrape('h', { worker: '1' }, bounds, [50, 0, 0, 0], 0.01)];
  // In the run: worker 0 got 90 fast and 8 slow (1–5 ms) samples, worker 1 two past every bound.
  const after = [...scrape('h', { worker: '0' }, bounds, [190, 0, 8, 0], 0.05), ...scrape('h', { worker: '1' }, bounds, [50, 0, 0, 2], 0.03)];
  const both = windowHistogram(before, after, 'h', bounds);
  assert.equal(both.count, 100);
  assert.ok(Math.abs(both.sum - 0.06) < 1e-12);
  assert.ok(both.p50Us > 0 && both.p50Us <= 500, `p50 ${both.p50Us}`);
  assert.equal(both.p99Us, 5000, 'past the last bound: the last bound is all that can be said');
  assert.ok(Math.abs(both.over1msShare - 0.1) < 1e-12);
  const zero = windowHistogram(before, after, 'h', bounds, { worker: '0' });
  assert.equal(zero.count, 98);
  assert.ok(zero.p99Us > 1000 && zero.p99Us <= 5000, `p99 ${zero.p99Us}`);
  assert.ok(Number.isNaN(windowHistogram(before, before, 'h', bounds).p99Us), 'no samples: no quantile');
});

test('scaling: round trips per gateway core-second, a linear and a compounding projection', () => {
  const run = (target: string, rate: number, cores: number) => ({ target, payloadBytes: 32, rate, cpu: { target: cores } });
  const result = { throughput: [run('actorgate-1', 100_000, 1), run('actorgate-2', 160_000, 2)] } as unknown as SuiteResult;
  const [row] = scalingRows(result);
  assert.equal(row!.perCoreOne, 100_000);
  assert.equal(row!.perCoreTwo, 80_000);
  assert.equal(row!.efficiency, 0.8);
  assert.deepEqual(row!.projected.map((p) => p.cores), [8, 16]);
  assert.equal(row!.projected[0]!.linear, 640_000);
  assert.ok(Math.abs(row!.projected[0]!.compounding - 640_000 * 0.8 ** 2) < 1e-6, 'two doublings past 2 cores');
  assert.ok(Math.abs(row!.projected[1]!.compounding - 1_280_000 * 0.8 ** 3) < 1e-6);
});

test('verdicts: a p99 added below zero is not a pass; misses say by how much', () => {
  assert.match(verdict(-120, 300, false, 'us'), /^not resolved/);
  assert.equal(verdict(250, 300, false, 'us'), 'met');
  assert.equal(verdict(1450, 1000, false, 'us'), 'missed by 0.45 ms');
  assert.equal(verdict(0.6, 0.5, true, 'ratio'), 'met');
  assert.match(verdict(0.4, 0.5, true, 'ratio'), /^missed: 0\.80× of the target/);
  assert.match(verdict(2000, 1024, false, 'bytes'), /^missed by 976 B/);
  assert.equal(verdict(Number.NaN, 1, false, 'ratio'), 'not measured');
});
