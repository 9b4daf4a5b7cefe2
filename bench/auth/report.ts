/** The Markdown section of the authentication benchmark (bench/auth/main.ts), from the pooled results. */
import { LOOP_DELAY_BOUNDS_SECONDS } from '../../src/core/counters.ts';
import { codeName } from '../../src/protocol/codes.ts';
import { LogHistogram } from '../lib/histogram.ts';
import { describeMachine, type MachineFacts } from '../lib/machine.ts';
import { fmt, ms, ratioOf, table } from '../lib/markdown.ts';
import { bucketQuantileUs, type Pooled, type VerifyOn } from './results.ts';
import { standInTable, type StandInRow } from './stand-ins.ts';
import { ALGORITHMS } from './tokens.ts';

export interface ReportInput {
  machine: MachineFacts;
  settings: { rounds: number; measureMs: number; warmupMs: number; connectors: number[]; sessions: number; rate: number; workers: number; tokens: number; standIns: boolean };
  pooled: readonly Pooled[];
  standIns: readonly StandInRow[];
  elapsedS: number;
  /** The flags the run was given (those that change what is measured). */
  args: readonly string[];
}

const LABEL: Record<VerifyOn, string> = { pool: 'pool', worker: "worker's loop" };

const p = (h: Pooled['sessionLatency'], q: number) => LogHistogram.from(h).quantile(q);
const loopP99 = (row: Pooled) => bucketQuantileUs(row.loopDelay, 0.99);
const loopMs = (us: number) => (us === Number.POSITIVE_INFINITY ? `> ${LOOP_DELAY_BOUNDS_SECONDS.at(-1)! * 1000}` : ms(us));

function refusedText(row: Pooled): string {
  const entries = Object.entries(row.refused).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0 && row.failed === 0) return 'none';
  const parts = entries.map(([code, n]) => `${code}: ${fmt(n / row.seconds)}/s`);
  if (row.failed > 0) parts.push(`failed: ${fmt(row.failed)}`);
  return parts.join(', ');
}

/** The step of `placement` and `alg` with the most upgrades per second. */
export function peakOf(pooled: readonly Pooled[], placement: VerifyOn, alg: string): Pooled | undefined {
  return pooled.filter((r) => r.placement === placement && r.alg === alg).sort((a, b) => b.upgradesPerSecond - a.upgradesPerSecond)[0];
}

/**
 * The connector count at which `alg` went fastest, both placements' upgrades per second added: the two are compared
 * at the same offered load, the step where the machine took the most.
 */
export function commonPeak(pooled: readonly Pooled[], alg: string): number | undefined {
  const total = new Map<number, number>();
  for (const r of pooled) if (r.alg === alg) total.set(r.connectors, (total.get(r.connectors) ?? 0) + r.upgradesPerSecond);
  return [...total].sort((a, b) => b[1] - a[1])[0]?.[0];
}

export function renderReport(input: ReportInput): string {
  const { machine, settings, pooled } = input;
  const rest = (placement: VerifyOn) => pooled.find((r) => r.placement === placement && r.alg === null);
  const placements: VerifyOn[] = ['pool', 'worker'];
  const date = machine.date.slice(0, 10);
  const time = machine.date.slice(11, 16);
  const command = `npm run bench:auth${input.args.length === 0 ? '' : ` -- ${input.args.join(' ')}`}`;

  const peakRows: string[][] = [];
  const ratioRows: string[][] = [];
  const findings: string[] = [];
  for (const alg of ALGORITHMS) {
    const connectors = commonPeak(pooled, alg);
    const at = (placement: VerifyOn) => pooled.find((r) => r.placement === placement && r.alg === alg && r.connectors === connectors);
    const peaks = { pool: at('pool'), worker: at('worker') };
    for (const placement of placements) {
      const row = peaks[placement];
      const atRest = rest(placement);
      if (row === undefined) continue;
      peakRows.push([
        alg,
        LABEL[placement],
        fmt(row.connectors),
        fmt(row.upgradesPerSecond),
        refusedText(row),
        ms(p(row.upgradeLatency, 0.99)),
        ms(p(row.sessionLatency, 0.5)),
        ms(p(row.sessionLatency, 0.99)),
        atRest === undefined ? '–' : `${ms(p(atRest.sessionLatency, 0.5))} / ${ms(p(atRest.sessionLatency, 0.99))}`,
        loopMs(loopP99(row)),
        loopMs(row.worstWorkerLoopDelayP99Us),
        atRest === undefined ? '–' : loopMs(loopP99(atRest)),
        row.cores.gateway.toFixed(2),
        row.cores.machineBusy.toFixed(2),
        row.cores.other.toFixed(2),
      ]);
    }
    const { pool, worker } = peaks;
    if (pool !== undefined && worker !== undefined) {
      ratioRows.push([
        alg,
        ratioOf(worker.upgradesPerSecond, pool.upgradesPerSecond),
        ratioOf(p(worker.sessionLatency, 0.99), p(pool.sessionLatency, 0.99)),
        ratioOf(loopP99(worker), loopP99(pool)),
        ratioOf(worker.cores.gateway / worker.upgradesPerSecond, pool.cores.gateway / pool.upgradesPerSecond),
      ]);
      const best = { pool: peakOf(pooled, 'pool', alg)!, worker: peakOf(pooled, 'worker', alg)! };
      findings.push(
        `${alg}, ${fmt(connectors)} connectors: the pool took ${fmt(pool.upgradesPerSecond)} upgrades/s and the worker's loop ${fmt(worker.upgradesPerSecond)}/s; ` +
          `meanwhile the established sessions' p99 was ${ms(p(pool.sessionLatency, 0.99))} ms with the pool and ${ms(p(worker.sessionLatency, 0.99))} ms on the loop, ` +
          `and the workers' loop delay p99 ${loopMs(loopP99(pool))} against ${loopMs(loopP99(worker))} ms. Each placement's own best step: pool ` +
          `${fmt(best.pool.upgradesPerSecond)}/s at ${fmt(best.pool.connectors)} connectors, worker's loop ${fmt(best.worker.upgradesPerSecond)}/s at ${fmt(best.worker.connectors)}.`,
      );
    }
  }
  const lowest = Math.min(...settings.connectors);
  const low = ALGORITHMS.map((alg) => {
    const at = (placement: VerifyOn) => pooled.find((r) => r.placement === placement && r.alg === alg && r.connectors === lowest);
    const [pool, worker] = [at('pool'), at('worker')];
    if (pool === undefined || worker === undefined) return '';
    return `${alg} ${fmt(pool.upgradesPerSecond)} and ${fmt(worker.upgradesPerSecond)} upgrades/s, sessions p99 ${ms(p(pool.sessionLatency, 0.99))} and ${ms(p(worker.sessionLatency, 0.99))} ms, loop delay p99 ${loopMs(loopP99(pool))} and ${loopMs(loopP99(worker))} ms`;
  }).filter((t) => t !== '');
  if (low.length > 0) findings.push(`At the gentlest step (${fmt(lowest)} connectors), pool and worker's loop: ${low.join('; ')}.`);
  const storms = pooled.filter((r) => r.alg !== null);
  const other = storms.reduce((s, r) => s + r.cores.other, 0) / Math.max(1, storms.length);
  const saturated = storms.filter((r) => r.cores.machineBusy >= 0.95 * machine.cores).length;
  findings.push(
    `The machine was fully busy (≥ ${(0.95 * machine.cores).toFixed(2)} of ${machine.cores} cores) in ${saturated} of ${storms.length} storm windows; everything else (other load) used ` +
      `${other.toFixed(2)} cores on average during them${other >= 0.2 ? ", so absolute latencies here include that neighbour's share of the cores: read the two placements side by side, not alone" : ''}.`,
  );
  const busy = pooled.filter((r) => r.alg !== null && Object.keys(r.refused).some((k) => k.includes('AUTH_BUSY')));
  findings.push(
    busy.length === 0
      ? 'No upgrade was refused AUTH_BUSY at any step: the storm never filled auth.maxPendingPerWorker or the pool queue.'
      : `Upgrades were refused 503 AUTH_BUSY at ${busy.map((r) => `${r.alg} ${LABEL[r.placement]} ×${r.connectors}`).join(', ')} (the bounds at work; the connectors then waited out Retry-After: 1).`,
  );
  const behind = pooled.reduce((s, r) => s + r.sessionsBehind, 0);
  const closed = Math.max(...pooled.map((r) => r.sessionsClosed));
  const errors = new Map<string, number>();
  for (const r of pooled) for (const [code, n] of Object.entries(r.sessionErrors)) errors.set(code, (errors.get(code) ?? 0) + n);
  const errorText = [...errors].map(([code, n]) => `${fmt(n)} ${codeName(Number(code))}`).join(', ');
  findings.push(
    `The established sessions: ${closed === 0 ? 'none was closed' : `${fmt(closed)} closed`}, ${errors.size === 0 ? 'no message refused' : `messages refused: ${errorText}`}` +
      `${behind === 0 ? '' : `, ${fmt(behind)} sends skipped because their client was behind`}.`,
  );

  const rampRows = pooled
    .filter((r) => r.alg !== null)
    .sort((a, b) => ALGORITHMS.indexOf(a.alg!) - ALGORITHMS.indexOf(b.alg!) || a.placement.localeCompare(b.placement) || a.connectors - b.connectors)
    .map((r) => [
      r.alg!,
      LABEL[r.placement],
      fmt(r.connectors),
      fmt(r.upgradesPerSecond),
      refusedText(r),
      `${ms(p(r.upgradeLatency, 0.5))} / ${ms(p(r.upgradeLatency, 0.99))}`,
      `${ms(p(r.sessionLatency, 0.5))} / ${ms(p(r.sessionLatency, 0.99))} / ${ms(p(r.sessionLatency, 0.999))}`,
      loopMs(loopP99(r)),
      r.cores.gateway.toFixed(2),
      r.cores.storm.toFixed(2),
      r.cores.sessions.toFixed(2),
      r.cores.machineBusy.toFixed(2),
      r.cores.other.toFixed(2),
    ]);
  const restRows = placements
    .map((placement) => rest(placement))
    .filter((r): r is Pooled => r !== undefined)
    .map((r) => [LABEL[r.placement], `${ms(p(r.sessionLatency, 0.5))} / ${ms(p(r.sessionLatency, 0.99))} / ${ms(p(r.sessionLatency, 0.999))}`, loopMs(loopP99(r)), r.cores.gateway.toFixed(2), r.cores.machineBusy.toFixed(2), r.cores.other.toFixed(2)]);
  const poolThreads = Math.max(1, Math.floor(machine.cores / 2));
  const msgRate = settings.sessions * settings.rate;

  const standIns =
    input.standIns.length === 0
      ? ''
      : `
### Secondary: the verifier alone, in stand-in threads (no gateway)

${settings.workers} threads standing in for workers, each keeping 64 verifications in flight for 5 s after 1 s, with the
check on the thread's own loop, on one pool per process reached through the main thread (the gateway's design), or on
a pool per thread (the same number of pool threads in all); this is the only place the per-worker pool is measured
(\`bench/auth/stand-ins.ts\`).

${standInTable(input.standIns)}
`;

  return `## Authentication under a reconnect storm: verification on the pool versus on the worker's loop

Measured with \`${command}\` on ${date} (${time} UTC), in ${input.elapsedS} s: ${describeMachine(machine)}. Raw
numbers: \`bench/results/auth.json\`.

**Setup.** Four processes on this machine, so that /proc gives each its CPU: the gateway (actorgate from \`dist/\`,
${settings.workers} workers, JWTs signed with a 2048-bit RS256 key and a P-256 ES256 key made for the run); a grpc-js echo
backend; ${fmt(settings.sessions)} established sessions, each sending a 16-byte message every ${fmt(1000 / settings.rate)} ms through the gateway to the
backend and back (${fmt(msgRate)} messages/s in all, open loop: each message stamped with its due time, so a stall
counts in full); and the storm. Two placements of the check, on two gateways side by side (each with its own
${fmt(settings.sessions)} sessions, which pause while the other gateway is measured); every step runs on both back to back, the
order alternating from step to step, over ${settings.rounds} round${settings.rounds === 1 ? '' : 's'} of the whole ramp: **pool**, \`auth.verifyOn: "pool"\` (the default: one
piscina pool per process, ${poolThreads} thread${poolThreads === 1 ? '' : 's'} here, \`auth.poolThreads\` = cores/2), and **worker's loop**,
\`auth.verifyOn: "worker"\` (each worker verifies with the same \`JwtVerifier\` on its own loop; no pool). Every other
auth setting is at its default (\`auth.maxPendingPerWorker\` 256, \`auth.poolMaxQueue\` 1024). The per-address
limits are off (\`limits.maxConnectionsPerIp\` and \`limits.upgradesPerSecondPerIp\` 0): every client here has one
address, and their defaults (1,000 connections, 200 upgrades/s per address) would refuse the storm with 429 long
before the verifier is reached; so are the per-session message rates; the process-wide limits keep their defaults.

**The storm** is a closed loop of N connectors: each connects, sends an upgrade with \`Authorization: Bearer\` and the
next of ${fmt(settings.tokens)} distinct tokens, closes the connection as soon as the answer is in (101, or a refusal
counted by status and the code in its body), waits out a \`Retry-After\` if there is one (503 AUTH_BUSY), and starts
the next. RS256 first, then ES256. **Highest rate the machine takes**: N is ramped through
${settings.connectors.join(', ')}, each step ${settings.warmupMs / 1000} s of warm-up then ${settings.measureMs / 1000} s measured; the highest rate is the step
that took the most upgrades per second (the ramp table shows whether the rate had stopped growing), and the two
placements are compared at the connector count where they took the most together (the same offered load for both). **Event-loop delay** is the gateway's own metric,
\`actorgate_worker_event_loop_delay_seconds\` (how late each worker's loop ran a 10 ms timer), differenced over the
window; p99 pools both workers' samples and is interpolated inside its bucket as \`histogram_quantile\` does (bounds
${LOOP_DELAY_BOUNDS_SECONDS.map((b) => b * 1000).join(', ')} ms), so it is good to a bucket's width. Session
latencies are p50 / p99 (/ p99.9) of round trips; *at rest* is the same sessions before the storm. Cores are CPU
time over the window (1.00 = one core); *other load* is the machine's busy time outside the measured gateway, its sessions, the
storm and the echo backend: anything else running on the machine, plus the idle second gateway with its paused
sessions and the driver.

### At the storm's peak

${table(
  ['alg', 'verified on', 'connectors', 'upgrades/s', 'refused (by code)', 'upgrade p99 ms', 'sessions p50 ms', 'sessions p99 ms', 'at rest p50 / p99 ms', 'worker loop delay p99 ms', 'worst worker', 'at rest', 'gateway cores', 'machine busy', 'other load'],
  peakRows,
  ['left', 'left'],
)}

**Worker's loop ÷ pool**, same run:

${table(['alg', 'upgrades/s', 'sessions p99', 'worker loop delay p99', 'gateway CPU per upgrade'], ratioRows, ['left'])}

${findings.map((f) => `- ${f}`).join('\n')}

### The ramp

${table(
  ['alg', 'verified on', 'connectors', 'upgrades/s', 'refused (by code)', 'upgrade p50 / p99 ms', 'sessions p50 / p99 / p99.9 ms', 'worker loop delay p99 ms', 'gateway cores', 'storm cores', 'sessions cores', 'machine busy', 'other load'],
  rampRows,
  ['left', 'left'],
)}

At rest (the sessions alone):

${table(['verified on', 'sessions p50 / p99 / p99.9 ms', 'worker loop delay p99 ms', 'gateway cores', 'machine busy', 'other load'], restRows, ['left'])}
${standIns}`;
}
