/**
 * Worker scaling as it can be read on a small shared machine: round trips per gateway core-second (the target's own
 * CPU, all threads, from /proc) for 1 and 2 workers, and what those figures predict for 8 and 16 cores.
 */
import { fmt, ratioOf, table } from '../lib/markdown.ts';
import { size, tp, type SuiteResult } from './report-data.ts';

/** Cores the projection is made for. */
const PROJECTED_CORES = [8, 16] as const;

export interface ScalingRow {
  payloadBytes: number;
  /** Round trips per gateway core-second, 1 and 2 workers. */
  perCoreOne: number;
  perCoreTwo: number;
  /** 2 workers' per-core figure ÷ 1 worker's: what the second worker cost per core (1 = nothing). */
  efficiency: number;
  /** Round trips/s on N cores: linear at the 2-worker figure, and with `efficiency` lost at every doubling past 2. */
  projected: { cores: number; linear: number; compounding: number }[];
}

export function scalingRows(result: SuiteResult): ScalingRow[] {
  return [...new Set(result.throughput.map((r) => r.payloadBytes))].map((payloadBytes) => {
    const one = tp(result, 'actorgate-1', payloadBytes);
    const two = tp(result, 'actorgate-2', payloadBytes);
    const perCoreOne = (one?.rate ?? NaN) / (one?.cpu.target ?? NaN);
    const perCoreTwo = (two?.rate ?? NaN) / (two?.cpu.target ?? NaN);
    const efficiency = Math.min(1, perCoreTwo / perCoreOne);
    const projected = PROJECTED_CORES.map((cores) => ({
      cores,
      linear: perCoreTwo * cores,
      compounding: perCoreTwo * cores * efficiency ** Math.log2(cores / 2),
    }));
    return { payloadBytes, perCoreOne, perCoreTwo, efficiency, projected };
  });
}

export function scalingSection(result: SuiteResult): string {
  const rows = scalingRows(result);
  const t = table(
    [
      'payload',
      '1 worker: round trips/s',
      '1 worker: cores',
      '1 worker: per core-second',
      '2 workers: round trips/s',
      '2 workers: cores',
      '2 workers: per core-second',
      '2 ÷ 1 per core',
      ...PROJECTED_CORES.flatMap((n) => [`${n} cores: linear`, `${n} cores: compounding`]),
    ],
    rows.map((r) => {
      const one = tp(result, 'actorgate-1', r.payloadBytes);
      const two = tp(result, 'actorgate-2', r.payloadBytes);
      return [
        size(r.payloadBytes),
        fmt(one?.rate),
        fmt(one?.cpu.target, 2),
        fmt(r.perCoreOne),
        fmt(two?.rate),
        fmt(two?.cpu.target, 2),
        fmt(r.perCoreTwo),
        ratioOf(r.perCoreTwo, r.perCoreOne),
        ...r.projected.flatMap((p) => [fmt(p.linear), fmt(p.compounding)]),
      ];
    }),
    ['left'],
  );
  return `**Worker scaling.** On ${result.machine.cores} cores shared with the backends and the load generator, round trips/s
of 2 workers ÷ 1 measures contention for those cores, not scaling. So the table divides each run's round trips by the
gateway's own CPU over the window (all its threads: workers, main thread, libuv) to give round trips per gateway
core-second, and projects from it. *Linear*: every added core runs one more worker at the 2-worker figure per
core-second. That assumes the backends and clients are on other machines, one worker per core, and connections spread
evenly over workers (SO_REUSEPORT). Workers share nothing on the message path; the main thread's share of the CPU is
included and assumed to stay per message. *Compounding*: the loss per core measured from 1 to 2 workers (the "2 ÷ 1
per core" column, when below 1×) repeats at every doubling past 2, a pessimistic bound for costs that grow with the
worker count, such as cache and memory-bandwidth contention or more threads per NIC queue. Neither column is a
measurement. On a real 8- or 16-core machine the figure to check is the per-core-second one.

${t}`;
}
