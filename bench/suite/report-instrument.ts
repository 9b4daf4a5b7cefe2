/** The parts of the suite's report about the instrument itself (the load generator's lateness) and the floor relay. */
import { fmt, ms, ratioOf, table } from '../lib/markdown.ts';
import { label, lat, size, tp, type SuiteResult } from './report-data.ts';
import type { LatencyResult } from './scenarios.ts';

/** The load generator's own goal: its sends leave at most this late (µs) at p99. */
export const LATENESS_GOAL_US = 100;

/** The native generator's FIFO_MAX_RATE (bench/native/loadgen.c): the most msg/s a thread sends as SCHED_FIFO. */
export const FIFO_MAX_RATE = 4_000;

/** actorgate (both worker counts) against the floor relay: rates and CPU per payload, p99 at each load fraction. */
export function floorTable(result: SuiteResult): string {
  const rows: string[][] = [];
  for (const payload of [...new Set(result.throughput.map((r) => r.payloadBytes))]) {
    const floor = tp(result, 'floor', payload);
    for (const key of ['actorgate-2', 'actorgate-1']) {
      const r = tp(result, key, payload);
      if (r === undefined) continue;
      rows.push([
        `closed loop, ${size(payload)}`,
        label(key),
        `${fmt(r.rate)} vs ${fmt(floor?.rate)} round trips/s`,
        ratioOf(r.rate, floor?.rate),
        `${fmt(r.targetUsPerMessage, 2)} vs ${fmt(floor?.targetUsPerMessage, 2)} µs`,
        ratioOf(r.targetUsPerMessage, floor?.targetUsPerMessage),
      ]);
    }
  }
  for (const fraction of [...new Set(result.latency.map((r) => r.fraction))]) {
    if (fraction === null) continue;
    const floor = lat(result, 'floor', fraction);
    for (const key of ['actorgate-2', 'actorgate-1']) {
      const r = lat(result, key, fraction);
      if (r === undefined) continue;
      rows.push([
        `open loop at ${fraction * 100}% of each one's max`,
        label(key),
        `p99 ${ms(r.latency.p99)} vs ${ms(floor?.latency.p99)} ms`,
        ratioOf(r.latency.p99, floor?.latency.p99),
        `${fmt(r.targetUsPerMessage, 2)} vs ${fmt(floor?.targetUsPerMessage, 2)} µs`,
        ratioOf(r.targetUsPerMessage, floor?.targetUsPerMessage),
      ]);
    }
  }
  return `What actorgate's actors, checks and guarantees cost over the leanest relay of the same path, same run.

${table(
  ['run', 'target', 'actorgate vs floor', 'actorgate ÷ floor', 'CPU per message, actorgate vs floor', 'CPU ÷ floor'],
  rows,
  ['left', 'left', 'left', 'left', 'left'],
)}`;
}

/** How the load generator paces its sends, and its lateness in each latency run against LATENESS_GOAL_US. */
export function latenessSection(result: SuiteResult): string {
  const runs = result.latency.filter((r) => r.sendLateness !== undefined && r.sendLateness.count > 0);
  const met = runs.filter((r) => r.sendLateness.p99 <= LATENESS_GOAL_US);
  const worst = runs.reduce<(typeof runs)[number] | undefined>(
    (w, r) => (w === undefined || r.sendLateness.p99 > w.sendLateness.p99 ? r : w),
    undefined,
  );
  const stalled = runs.map((r) => r.loadgenStalledShare ?? 0);
  const pct = (share: number) => `${fmt(share * 100, 1)}%`;
  const stalledRange = stalled.length === 0 ? '–' : `${pct(Math.min(...stalled))} to ${pct(Math.max(...stalled))}`;
  const verdict =
    runs.length === 0
      ? 'not measured'
      : met.length === runs.length
        ? `**met** in all ${runs.length} runs (worst p99 ${ms(worst?.sendLateness.p99, 3)} ms)`
        : `**met in ${met.length} of ${runs.length} runs**; worst p99 ${ms(worst?.sendLateness.p99, 3)} ms ` +
          `(${label(worst!.target)} at ${fmt(worst!.requestedRate)} msg/s, its threads stalled ` +
          `${fmt((worst!.loadgenStalledShare ?? 0) * 100, 1)}% of the window, steal ${fmt(worst!.cpu.steal, 2)} cores)`;
  return `*Client send lateness* is how late the load generator itself sent: the time each message was handed to
its socket minus its due time (p50 / p99 / max). ${pacing(result)} The lateness is part of every latency figure
above, the bare echo's included, so compare targets at the same rate.

Against the instrument's goal, send lateness p99 ≤ ${ms(LATENESS_GOAL_US, 1)} ms: ${verdict}. Threads stalled in the
runs: ${stalledRange}.
${perRate(runs)}`;
}

/** How the generator that measured paces its sends, and what its poll or wake-up column means. */
function pacing(result: SuiteResult): string {
  if (result.loadgen?.generator === 'native') {
    return `The native generator (bench/native/loadgen.c, built at bench time with the machine's C compiler)
measured. Each thread sleeps (\`clock_nanosleep\`, 1 ns timer slack) until 30 µs before the next due time and spins
the rest, sleeping a shorter gap whole, so it never spins through a run of short gaps. Replies do not wake it: it
reads them after each send and times each by when the kernel received it (\`SO_TIMESTAMPNS\`), so a reply read
late is not timed late. A thread sending at most ${fmt(FIFO_MAX_RATE)} msg/s runs the load as SCHED_FIFO (priority 1),
so its wake-ups preempt whatever runs on the core (Linux's EEVDF scheduler can otherwise leave a woken thread
waiting out another's 1.5 ms slice). A faster thread stays SCHED_OTHER: a wake-up has a fixed cost (an idle event-loop turn costs
${fmt(result.wakeup.idleTurnUs, 0)} µs of CPU here, "What an event-loop turn costs here"), a real-time sender takes
it before anything else runs, and on 2 cores shared with the target and its backend that CPU is what the target
needs at such rates: it answered later for the generator's precision. So runs above that rate miss the
generator's goal, and say so below.
*Client wake-up lateness* is how late each timed sleep woke past its deadline; *client threads stalled* is the share
of the measured window lost in wake-ups 1 ms or more late (the thread was off its core: the machine's other load,
or the hypervisor, see steal). The scheduling column says how each run's sending threads ran.`;
  }
  const fallback = result.loadgen?.fallback === undefined ? '' : ` (the native generator was not built: ${result.loadgen.fallback})`;
  return `The Node generator${fallback} measured. No timer is on the send path: each thread sleeps (\`Atomics.wait\`,
1 µs timer slack) through a gap of 35 µs or more until 25 µs before the next due time, at most 100 µs at a time,
spins on \`performance.now()\` through a gap under 15 µs, and otherwise yields one event-loop turn to read replies
(at the latest 200 µs after its last), sending whatever came due after each read. *Client poll interval* bounds how
late a reply is read (and so timed): the time between one thread's polls of its sockets. *Client threads stalled* is
the share of the measured window a load thread spent in gaps of 1 ms or more between polls, which its pacing never
makes: the thread was off its core (the machine's other load, or the hypervisor: see steal) or in one long read
turn.`;
}

/** One line per run: the lateness percentiles, so each rate's figure can be read without the wide table. */
function perRate(runs: readonly LatencyResult[]): string {
  const rows = runs.map((r) => [
    label(r.target),
    fmt(r.requestedRate),
    r.loadgenScheduling?.join(', ') ?? '–',
    `${fmt(r.sendLateness.p50)} / ${fmt(r.sendLateness.p99)} / ${fmt(r.sendLateness.max)}`,
    r.sendLateness.p99 <= LATENESS_GOAL_US ? 'met' : `missed by ${ms(r.sendLateness.p99 - LATENESS_GOAL_US, 3)} ms`,
  ]);
  return `\n${table(['target', 'due msg/s', 'scheduling of the sending threads', 'send lateness p50 / p99 / max µs', 'p99 ≤ 0.1 ms'], rows, ['left'])}`;
}
