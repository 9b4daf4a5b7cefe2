/** The suite's verdicts against the design's targets, and the findings read off a run's figures. */
import { fmt, ms, ratio, table } from '../lib/markdown.ts';
import { label, lat, refLat, size, tp, type SuiteResult } from './report-data.ts';
import type { RunFigures } from './scenarios.ts';
import { fairnessGoal } from './report-fairness.ts';
import { verdict, type GoalRow } from './verdict.ts';

/**
 * The targets the suite gives a verdict on, measured here and never asserted in tests: the performance issue's
 * (rate ÷ bare echo and ÷ floor, CPU ÷ bare echo, p99 added at 10 % and 50 %, RSS per idle connection) and the
 * design's older ones it keeps (÷ naive, isolation).
 */
export const GOALS = {
  rateVsEcho: 0.5,
  rateVsNaive: 5,
  rateVsFloor: 0.8,
  cpuVsEcho: 1.6,
  /** p99 added over the bare echo at the same rate, µs, by fraction of actorgate's maximum. */
  addedP99Us: [
    { fraction: 0.1, us: 300 },
    { fraction: 0.5, us: 1000 },
  ],
  isolation: 1.1,
  bytesPerConnection: 1024,
} as const;


/** The closed-loop runs the goals and findings compare: each target's at the latency payload. */
function headlineRuns(result: SuiteResult) {
  const p = result.settings.latencyPayload;
  return { p, ag: tp(result, 'actorgate-2', p), echo: tp(result, 'uws-echo', p), naive: tp(result, 'naive', p) };
}

/** Goal rows of scenarios that render their own sections (fairness, push at scale), in the order they are listed. */
const extraGoals: ((result: SuiteResult) => GoalRow | null)[] = [fairnessGoal];

export function goals(result: SuiteResult): GoalRow[] {
  const rows: GoalRow[] = [];
  const { p, ag, echo, naive } = headlineRuns(result);
  const vsEcho = (ag?.rate ?? NaN) / (echo?.rate ?? NaN);
  const vsNaive = (ag?.rate ?? NaN) / (naive?.rate ?? NaN);
  const row = (name: string, value: number, goal: number, higher: boolean, unit: 'ratio' | 'us' | 'bytes', measured: string, goalText: string) => {
    const v = verdict(value, goal, higher, unit);
    rows.push({ name, measured, goal: goalText, verdict: v, missed: v !== 'met' });
  };
  row(`round-trip rate, ${size(p)}: actorgate (2 workers) ÷ bare uWS echo`, vsEcho, GOALS.rateVsEcho, true, 'ratio', ratio(vsEcho), `≥ ${ratio(GOALS.rateVsEcho)}`);
  row(`round-trip rate, ${size(p)}: actorgate (2 workers) ÷ naive gateway`, vsNaive, GOALS.rateVsNaive, true, 'ratio', ratio(vsNaive), `≥ ${ratio(GOALS.rateVsNaive, 0)}`);
  const floor = tp(result, 'floor', p);
  const vsFloor = (ag?.rate ?? NaN) / (floor?.rate ?? NaN);
  row(
    `round-trip rate, ${size(p)}: actorgate (2 workers) ÷ floor relay (1 thread)`,
    vsFloor,
    GOALS.rateVsFloor,
    true,
    'ratio',
    `${ratio(vsFloor)} (${fmt(ag?.rate)} vs ${fmt(floor?.rate)}/s)`,
    `≥ ${ratio(GOALS.rateVsFloor, 1)}`,
  );
  const cpu = (ag?.targetUsPerMessage ?? NaN) / (echo?.targetUsPerMessage ?? NaN);
  row(
    `gateway CPU per message ÷ bare echo’s, closed loop at ${size(p)} (each at its own maximum)`,
    cpu,
    GOALS.cpuVsEcho,
    false,
    'ratio',
    `${ratio(cpu)} (${fmt(ag?.targetUsPerMessage, 2)} vs ${fmt(echo?.targetUsPerMessage, 2)} µs)`,
    `≤ ${ratio(GOALS.cpuVsEcho, 1)}`,
  );
  for (const { fraction, us } of GOALS.addedP99Us) {
    const mine = lat(result, 'actorgate-2', fraction);
    const echoSame = refLat(result, 'uws-echo', fraction);
    const added = (mine?.latency.p99 ?? NaN) - (echoSame?.latency.p99 ?? NaN);
    row(
      `p99 latency added over the bare echo at ${fraction * 100}% of actorgate’s max (open loop, same rate)`,
      added,
      us,
      false,
      'us',
      `${ms(added, 2)} ms (${ms(mine?.latency.p99, 2)} − ${ms(echoSame?.latency.p99, 2)})`,
      `≤ ${ms(us, 1)} ms`,
    );
  }
  const hol = result.isolation.find((h) => h.target === 'actorgate-2');
  row('head-of-line isolation: p99 to A with B stalled ÷ with B healthy', hol?.ratio ?? NaN, GOALS.isolation, false, 'ratio', ratio(hol?.ratio), `≤ ${ratio(GOALS.isolation, 1)}`);
  const mem = result.memory.find((m) => m.target === 'actorgate-2');
  const kernel = mem?.kernelBytesPerConnection;
  row(
    'RSS per idle connection, actorgate (2 workers)',
    mem?.bytesPerConnection ?? NaN,
    GOALS.bytesPerConnection,
    false,
    'bytes',
    `${fmt(mem?.bytesPerConnection)} B` + (kernel === undefined ? '' : ` (kernel socket memory beside it: ${fmt(kernel)} B per connection, both ends)`),
    `≤ ${fmt(GOALS.bytesPerConnection)} B`,
  );
  for (const extra of extraGoals) {
    const g = extra(result);
    if (g !== null) rows.push(g);
  }
  return rows;
}


/** Sentences, from the figures, on what set the pace and why a goal was missed. */
export function findings(result: SuiteResult): string[] {
  const out: string[] = [];
  const { p, ag, echo, naive } = headlineRuns(result);
  if (ag && echo) {
    out.push(
      `At ${size(p)} in the closed loop the bare echo used ${fmt(echo.cpu.target, 2)} cores and its clients ${fmt(echo.cpu.loadgen, 2)} ` +
        `(busiest client thread ${fmt(echo.cpu.loadgenBusiestThread, 2)}); actorgate with 2 workers used ${fmt(ag.cpu.target, 2)} cores, the echo backends ` +
        `${fmt(ag.cpu.backend, 2)} and the clients ${fmt(ag.cpu.loadgen, 2)}, with the machine ${fmt(ag.cpu.machine, 2)} of ${result.machine.cores} cores busy. ` +
        `The bare echo has no backend hop; actorgate's figure includes a gRPC round trip to a backend that shares the same cores.`,
    );
  }
  const all: { what: string; f: RunFigures }[] = [
    ...result.throughput.map((r) => ({ what: `${label(r.target)}, throughput ${size(r.payloadBytes)}`, f: r })),
    ...result.latency.map((r) => ({ what: `${label(r.target)}, latency at ${fmt(r.requestedRate)}/s`, f: r })),
    ...result.isolation.flatMap((h) => h.runs.map((r) => ({ what: `${label(h.target)}, isolation (B ${r.stalled ? 'stalled' : 'healthy'})`, f: r }))),
  ];
  const behind = all.filter((x) => x.f.clientBehind > 0);
  if (behind.length > 0) out.push(`The client fell behind (sends skipped, not in the histograms) in: ${behind.map((x) => `${x.what} (${fmt(x.f.clientBehind)})`).join(', ')}.`);
  const disturbed = all.filter((x) => x.f.cpu.other > 0.2);
  out.push(
    disturbed.length === 0
      ? 'Nothing outside the benchmark used more than 0.2 cores during any measured run.'
      : `Other load on the machine (busy cores not used by the target, the client or the backend) exceeded 0.2 cores in ${disturbed.length} of ${all.length} runs, ` +
          `most in ${disturbed.sort((a, b) => b.f.cpu.other - a.f.cpu.other)[0]!.what} (${fmt(disturbed[0]!.f.cpu.other, 2)} cores); those figures are skewed by it.`,
  );
  const bound = result.throughput.filter((r) => r.clientBound);
  if (bound.length > 0) out.push(`The client set the pace (busiest load thread ≥ 0.9 cores) in: ${bound.map((r) => `${label(r.target)} at ${size(r.payloadBytes)}`).join(', ')}.`);
  else out.push('In no throughput run was a load-generator thread near a full core, so the targets (and the machine) set the pace, not the client.');
  if (ag && naive) out.push(`Per message, actorgate (2 workers) spent ${fmt(ag.targetUsPerMessage, 2)} µs of gateway CPU against the naive gateway's ${fmt(naive.targetUsPerMessage, 2)} µs at saturation.`);
  const one = tp(result, 'actorgate-1', p);
  if (one && ag) out.push(`Two workers moved ${ratio(ag.rate / one.rate)} the round trips of one at ${size(p)}; on ${result.machine.cores} cores the second worker competes with the backend and the clients for the same CPU.`);
  for (const h of result.isolation) {
    const stalledRuns = h.runs.filter((r) => r.stalled);
    const growth = Math.max(...stalledRuns.map((r) => r.rssAfterBytes - r.rssBeforeBytes));
    const depth = stalledRuns.map((r) => r.bMailboxDepth).filter((d): d is number => d !== null);
    out.push(
      `${label(h.target)} with B stalled: RSS grew by at most ${fmt(growth / 2 ** 20, 0)} MiB over a run` +
        (depth.length === 0 ? '' : `; at the end of each stalled run ${depth.map((d) => fmt(d)).join(' and ')} packets were held for B (at most the mailbox bound per worker)`) +
        (depth.length === 0
          ? ''
          : stalledRuns.some((r) => Object.keys(r.bErrors).length > 0)
            ? ', and messages past it were refused with a code'
            : ", and nothing was refused (B's backlog never filled the mailbox)") +
        '.',
    );
  }
  return out;
}
