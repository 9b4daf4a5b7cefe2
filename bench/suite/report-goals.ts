/** The suite's verdicts against the design's targets, and the findings read off a run's figures. */
import { fmt, ms, ratio, table } from '../lib/markdown.ts';
import { label, lat, size, tp, type SuiteResult } from './report-data.ts';
import type { RunFigures } from './scenarios.ts';

/** The design's targets (issue "Benchmark suite"), measured here and never asserted in tests. */
const GOALS = {
  rateVsEcho: 0.5,
  rateVsNaive: 5,
  rateVsFloor: 0.8,
  cpuVsEcho: 2,
  addedP99Us: 1000,
  isolation: 1.1,
  bytesPerConnection: 4096,
} as const;



/** "met" or "missed by 2.3×" / "missed by 0.4 ms"; `higher` says which way is better. */
function verdict(value: number, goal: number, higher: boolean, unit: 'ratio' | 'us' | 'bytes'): string {
  if (!Number.isFinite(value) || (unit === 'bytes' && value <= 0)) return 'not measured';
  const met = higher ? value >= goal : value <= goal;
  if (met) return 'met';
  if (unit === 'us') return `missed by ${ms(value - goal)} ms`;
  if (unit === 'bytes') return `missed by ${fmt(value - goal)} B (${ratio(value / goal, 2)} the target)`;
  return higher ? `missed: ${ratio(value / goal)} of the target` : `missed by ${fmt((value / goal - 1) * 100, 1)}%`;
}

interface GoalRow {
  name: string;
  measured: string;
  goal: string;
  verdict: string;
  /** For the closing text: a missed goal's one-line explanation from the figures. */
  missed: boolean;
}

/** The closed-loop runs the goals and findings compare: each target's at the latency payload. */
function headlineRuns(result: SuiteResult) {
  const p = result.settings.latencyPayload;
  return { p, ag: tp(result, 'actorgate-2', p), echo: tp(result, 'uws-echo', p), naive: tp(result, 'naive', p) };
}

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
  const ag50 = lat(result, 'actorgate-2', 0.5);
  const echoSame = lat(result, 'uws-echo', null);
  const cpu = (ag50?.targetUsPerMessage ?? NaN) / (echoSame?.targetUsPerMessage ?? NaN);
  row(
    'gateway CPU per message ÷ bare echo’s, same rate (50% of actorgate’s max)',
    cpu,
    GOALS.cpuVsEcho,
    false,
    'ratio',
    `${ratio(cpu)} (${fmt(ag50?.targetUsPerMessage, 1)} vs ${fmt(echoSame?.targetUsPerMessage, 1)} µs)`,
    `≤ ${ratio(GOALS.cpuVsEcho, 0)}`,
  );
  const added = (ag50?.latency.p99 ?? NaN) - (echoSame?.latency.p99 ?? NaN);
  row(
    'p99 latency added over the bare echo at 50% of actorgate’s max',
    added,
    GOALS.addedP99Us,
    false,
    'us',
    `${ms(added)} ms (${ms(ag50?.latency.p99)} − ${ms(echoSame?.latency.p99)})`,
    `< ${ms(GOALS.addedP99Us, 0)} ms`,
  );
  const hol = result.isolation.find((h) => h.target === 'actorgate-2');
  row('head-of-line isolation: p99 to A with B stalled ÷ with B healthy', hol?.ratio ?? NaN, GOALS.isolation, false, 'ratio', ratio(hol?.ratio), `≤ ${ratio(GOALS.isolation, 1)}`);
  const mem = result.memory.find((m) => m.target === 'actorgate-2');
  row('RSS per idle connection, actorgate (2 workers)', mem?.bytesPerConnection ?? NaN, GOALS.bytesPerConnection, false, 'bytes', `${fmt(mem?.bytesPerConnection)} B`, `≤ ${fmt(GOALS.bytesPerConnection)} B`);
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
