/** The tracing benchmark's results (bench/results/tracing.json) and its section of BENCHMARKS.md. */
import { describeMachine, type MachineFacts } from '../lib/machine.ts';
import { fmt, ratioOf, table } from '../lib/markdown.ts';

export interface Mode {
  key: string;
  label: string;
  tracing: (sinkUrl: string) => object;
}

export interface RunResult {
  mode: string;
  round: number;
  rate: number;
  answered: number;
  gatewayCpuUs: number;
  gatewayUsPerMessage: number;
  gatewayCores: number;
  p50Us: number;
  p99Us: number;
  spansExported: number;
  exports: number;
  errors: Record<string, number>;
}

export interface TracingResults {
  machine: MachineFacts;
  rate: number;
  rounds: number;
  warmupMs: number;
  measureMs: number;
  seconds: number;
  quick: boolean;
  results: RunResult[];
}

export const CONNECTIONS = 64;
export const PAYLOAD_BYTES = 64;

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const signed = (value: number, digits = 1) => `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;

export function tracingReport(raw: TracingResults, modes: readonly Mode[]): string {
  const { machine, results } = raw;
  // The load sends through warm-up and the measured window; each of those messages is traced alike.
  const sentPerRun = raw.rate * ((raw.warmupMs + raw.measureMs) / 1000);
  const summary = modes.map((mode) => {
    const runs = results.filter((r) => r.mode === mode.key);
    return {
      mode,
      runs,
      usPerMessage: median(runs.map((r) => r.gatewayUsPerMessage)),
      rate: median(runs.map((r) => r.rate)),
      p99Us: median(runs.map((r) => r.p99Us)),
      spansPerMessage: runs.reduce((n, r) => n + r.spansExported, 0) / (runs.length * sentPerRun),
    };
  });
  const off = summary[0]!;
  const byKey = (key: string) => summary.find((s) => s.mode.key === key)!;
  const delta = (key: string) => signed(byKey(key).usPerMessage - off.usPerMessage);
  const full = byKey('export-100');
  const perSpan = (full.usPerMessage - byKey('export-0').usPerMessage) / full.spansPerMessage;
  const offRounds = off.runs.map((r) => r.gatewayUsPerMessage);
  const spread = Math.max(...offRounds) - Math.min(...offRounds);
  const rows = summary.map((s) => [
    s.mode.label,
    fmt(s.rate),
    s.usPerMessage.toFixed(2),
    ratioOf(s.usPerMessage, off.usPerMessage),
    signed(s.usPerMessage - off.usPerMessage, 2),
    (s.p99Us / 1000).toFixed(2),
    s.spansPerMessage.toFixed(2),
  ]);
  const perRound = summary.map((s) => {
    return `${s.mode.key} ${s.runs.map((r) => r.gatewayUsPerMessage.toFixed(1)).join(' / ')}`;
  });
  const headers = ['tracing', 'round trips/s', 'gateway CPU µs/msg', 'vs off', 'Δ µs/msg', 'p99 ms'];
  headers.push('spans per message');
  const windows = `${raw.warmupMs / 1000} s warm-up, ${raw.measureMs / 1000} s measured`;
  const deltas =
    `${delta('propagate-100')} µs; export configured at 0 % ${delta('export-0')} µs; at 1 % ${delta('export-1')} µs; ` +
    `at 100 % ${delta('export-100')} µs`;
  const when = `${machine.date.slice(0, 10)} (${machine.date.slice(11, 16)} UTC)`;
  const load = `${fmt(raw.rate)} round trips/s over ${CONNECTIONS} connections, ${PAYLOAD_BYTES}-byte payloads`;
  const rounds = `${raw.rounds} round${raw.rounds === 1 ? '' : 's'} of each`;
  const command = `npm run bench:tracing${raw.quick ? ' -- --quick' : ''}`;
  return `## Tracing cost

Measured with \`${command}\` on ${when}, in ${raw.seconds} s:
${describeMachine(machine)}. Raw numbers: \`bench/results/tracing.json\`.

**Setup.** One gateway process (1 worker, from \`dist/\`) per mode and round, the suite's echo backend (it sends each
batch back as it came, \`traceparent\` included, so a traced message also gets a delivery span), the suite's load
generator (open loop, ${load}) and an OTLP/gRPC receiver that counts spans and discards them
(\`bench/tracing/otlp-sink-process.ts\`), each in its own process. The modes alternate, ${rounds}; ${windows}.
*Gateway CPU* is the gateway process's user + system time (all threads) from /proc over the measured window ÷ the
round trips answered in it (medians over rounds). *Spans per message*: what the receiver got over the whole run (the
close's flush included) ÷ the messages sent in it.

${table(headers, rows, ['left'])}

At 100 % a message has two spans (its forward span and the delivery span of its echo), and each connection one:
fewer than 2 spans per message would mean spans dropped at the export queue (\`tracing.maxQueueSpans\`, counted in
\`actorgate_spans_total{outcome="dropped"}\`). Against off, per message: a traceparent on every DATA without export
${deltas}; about ${perSpan.toFixed(1)} µs per exported span (100 % against 0 %, per span). The machine has
${machine.cores} cores for all four processes (load average ${machine.loadavg[0]} at the start) and the rounds of one
mode spread widely (off: ${spread.toFixed(1)} µs between its fastest and slowest round), so a difference smaller
than that spread is not resolved here. Per round (µs/msg):
${perRound.join('; ')}.
`;
}
