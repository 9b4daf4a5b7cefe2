/** The "Fairness inside one backend" subsection of the suite's report, and its row for the goals table. */
import { fmt, ms, ratio, table } from '../lib/markdown.ts';
import type { FairnessResult, FairnessRun } from './fairness.ts';
import { label, size, type SuiteResult } from './report-data.ts';
import { verdict, type GoalRow } from './verdict.ts';

/** The issue's goal: the 99's p99 with one session flooding at most this many times their p99 without it. */
export const FAIRNESS_GOAL = 1.1;

/** "met", "missed by 12.3%", or "not measured"; lower is better. */
export function fairnessVerdict(value: number, goal = FAIRNESS_GOAL): string {
  return verdict(value, goal, false, 'ratio');
}

/** actorgate (2 workers)'s fairness ratio against the goal, with the naive gateway's beside it. */
export function fairnessGoal(result: SuiteResult): GoalRow {
  const ag = result.fairness?.find((f) => f.target === 'actorgate-2');
  const naive = result.fairness?.find((f) => f.target === 'naive');
  const verdict = fairnessVerdict(ag?.ratio ?? Number.NaN);
  const measured =
    ag === undefined
      ? '–'
      : `${ratio(ag.ratio)} (${ms(ag.flooded.latency.p99)} ÷ ${ms(ag.calm.latency.p99)} ms)` + (naive === undefined ? '' : `; naive gateway ${ratio(naive.ratio)}`);
  return {
    name: 'fairness inside one backend: p99 of 99 sessions with a 100th flooding the endpoint ÷ without, actorgate (2 workers)',
    measured,
    goal: `≤ ${ratio(FAIRNESS_GOAL, 1)}`,
    verdict,
    missed: verdict !== 'met',
  };
}

const codes = (errors: Record<string, number>) => Object.entries(errors).map(([code, n]) => `${fmt(n)}×${code}`).join(', ');

function quietRefused(run: FairnessRun): string {
  const parts = Object.keys(run.errors).length === 0 ? [] : [codes(run.errors)];
  if (run.unanswered > 0) parts.push(`${fmt(run.unanswered)} unanswered`);
  if (run.outOfOrder > 0) parts.push(`${fmt(run.outOfOrder)} out of order`);
  if (run.clientBehind > 0) parts.push(`${fmt(run.clientBehind)} not sent (client behind)`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

function flooderText(run: FairnessRun, measureMs: number): string {
  if (!run.flood) return 'silent';
  const f = run.flooder;
  const refused = Object.keys(f.errors).length === 0 ? 'none refused' : `refused ${codes(f.errors)}`;
  return `${fmt(f.sent)} sent, ${fmt(f.echoed)} echoed (${fmt(f.echoedInWindow / (measureMs / 1000))}/s), ${refused}` + (f.clientBehind > 0 ? `, ${fmt(f.clientBehind)} not sent (client behind)` : '');
}

function gatewayText(run: FairnessRun): string {
  const g = run.gateway;
  if (g === null) return '–';
  const reasons = Object.entries(g.byReason).map(([reason, n]) => `${fmt(n)} ${reason}`).join(', ');
  return `${fmt(g.sessionShare)} at the share, ${fmt(g.mailboxFull)} mailbox full${reasons === '' ? '' : ` (${reasons})`}; peak ${fmt(run.mailboxPeak ?? Number.NaN)}`;
}

function targetTable(f: FairnessResult): string {
  const rows = f.runs.map((run, i) => [
    `${Math.floor(i / 2) + 1}`,
    run.flood ? 'with flood' : 'without',
    fmt(run.rate),
    ms(run.latency.p50),
    ms(run.latency.p99),
    ms(run.latency.p999),
    quietRefused(run),
    ms(run.sendLateness.p99, 3),
    flooderText(run, f.settings.measureMs),
    gatewayText(run),
    fmt(run.cpu.target, 2),
    `${fmt(run.cpu.machine, 2)} (${fmt(run.cpu.other, 2)})`,
  ]);
  rows.push(
    ...([false, true] as const).map((flood) => {
      const p = flood ? f.flooded : f.calm;
      return ['all', `${flood ? 'with flood' : 'without'}, pooled`, '', ms(p.latency.p50), ms(p.latency.p99), ms(p.latency.p999), '', '', '', '', '', ''];
    }),
  );
  return table(
    ['round', 'flood', 'the 99: echoes/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'the 99: refused / lost', 'client send lateness p99 ms', 'the flooder (measured window)', 'gateway refusals (whole run) and mailbox peak', 'target cores', 'machine busy (other load) cores'],
    rows,
    ['left', 'left'],
  );
}

/** What the figures say about the flood's refusals and where the added latency came from. */
function notes(f: FairnessResult, machineCores: number): string[] {
  const out: string[] = [];
  const flooded = f.runs.filter((r) => r.flood);
  const calm = f.runs.filter((r) => !r.flood);
  const sum = (runs: FairnessRun[], of: (r: FairnessRun) => number) => runs.reduce((n, r) => n + of(r), 0);
  const quietErrors = sum(flooded, (r) => Object.values(r.errors).reduce((a, b) => a + b, 0));
  const floodRefused = sum(flooded, (r) => Object.values(r.flooder.errors).reduce((a, b) => a + b, 0));
  const withGateway = flooded.filter((r) => r.gateway !== null);
  if (withGateway.length > 0) {
    const share = sum(withGateway, (r) => r.gateway!.sessionShare);
    const full = sum(withGateway, (r) => r.gateway!.mailboxFull);
    const overloaded = sum(withGateway, (r) => r.gateway!.byReason.session_overloaded ?? 0);
    out.push(
      `${label(f.target)}: the flooder's messages refused in the measured windows: ${fmt(floodRefused)}; over the whole flood runs the gateway refused ` +
        `${fmt(share)} at the session's share (\`actorgate_backend_session_share_rejected_total\`; ${fmt(overloaded)} counted as \`session_overloaded\`) ` +
        `and ${fmt(full)} with the whole mailbox full; the most one mailbox held was ${fmt(Math.max(...withGateway.map((r) => r.mailboxPeak ?? 0)))} ` +
        `of ${fmt(f.settings.mailboxCapacity)}. The 99 were refused ${fmt(quietErrors)} times.`,
    );
  } else {
    out.push(`${label(f.target)}: the flooder's messages refused in the measured windows: ${fmt(floodRefused)}; the 99 were refused ${fmt(quietErrors)} times.`);
  }
  const cores = (runs: FairnessRun[], of: (r: FairnessRun) => number) => (runs.length === 0 ? Number.NaN : sum(runs, of) / runs.length);
  out.push(
    `${label(f.target)} used ${fmt(cores(calm, (r) => r.cpu.target), 2)} cores without the flood and ${fmt(cores(flooded, (r) => r.cpu.target), 2)} with it; ` +
      `the machine had ${fmt(cores(calm, (r) => r.cpu.machine), 2)} and ${fmt(cores(flooded, (r) => r.cpu.machine), 2)} of its ${machineCores} cores busy, ` +
      `${fmt(cores(calm, (r) => r.cpu.other), 2)} and ${fmt(cores(flooded, (r) => r.cpu.other), 2)} of them outside the benchmark. ` +
      `The flood's messages${withGateway.length > 0 ? ' and their refusals' : ''} take CPU (the target's, the backend's, the client's) that the 99 need too.`,
  );
  return out;
}

export function fairnessSection(result: SuiteResult): string {
  const all = result.fairness;
  if (all === undefined || all.length === 0) return '';
  const s = all[0]!.settings;
  const rates = all.map((f) => `${label(f.target)} ${fmt(f.quietRate)} msg/s`).join(', ');
  const threads = all[0]!.loadThreads;
  const apart = threads.quiet.every((t) => !threads.flooder.includes(t));
  const sections = all.map(
    (f) => `**${label(f.target)}**

${targetTable(f)}

${notes(f, result.machine.cores)
  .map((n) => `- ${n}`)
  .join('\n')}`,
  );
  const ratios = all
    .map((f) => `${label(f.target)}: **${ratio(f.ratio)}** (pooled p99 ${ms(f.flooded.latency.p99)} ÷ ${ms(f.calm.latency.p99)} ms; by round: ${f.roundRatios.map((r) => ratio(r)).join(', ')})`)
    .join('; ');
  return `### Fairness inside one backend

${s.quietConnections + 1} sessions on one endpoint (backend A). ${s.quietConnections} quiet sessions send ${size(s.payloadBytes)} messages open loop at
${fmt(s.load * 100)}% of the target's closed-loop maximum at that size, in total (${rates}). The 100th session, when it floods,
keeps ${fmt(s.floodWindow)} messages in flight (closed loop: each echo or refusal is answered at once with another message, as
fast as the target turns them round); that is a whole mailbox (\`backend.mailboxCapacity\` ${fmt(s.mailboxCapacity)}), ${fmt(s.floodWindow / s.sessionShare)}× the
share one session may hold in it (\`backend.maxQueuedPerSession\` ${fmt(s.sessionShare)}; actorgate runs its defaults here), so actorgate
must refuse part of it. ${apart ? `The flooder runs on a load-generator thread of its own, the quiet sessions on the other${threads.quiet.length > 1 ? 's' : ''}, so the thread that paces the quiet sends never handles the flood's replies.` : 'The flooder shares its load-generator thread with the quiet sessions (one thread): the quiet sends may be late behind the flood, which counts as latency.'}
Each round has one run without the flood (the flooder connected and silent) and one with it, the order alternating by round
(${s.rounds} round${s.rounds === 1 ? '' : 's'}, after a discarded first run); ${s.warmupMs / 1000} s warm-up and ${s.measureMs / 1000} s measured per run. Refusals and
latency are the client's, over the measured window; actorgate's refusal counters are differenced over the whole run.

${sections.join('\n\n')}

Fairness ratio (the 99's p99 with the flood ÷ without, runs of each condition pooled; the goal is ≤ ${ratio(FAIRNESS_GOAL, 1)}): ${ratios}.`;
}
