/**
 * Tracing cost: the gateway's CPU per round trip with tracing off, propagating trace context only, and exporting
 * spans over OTLP/gRPC at 0 %, 1 % and 100 % sampling, all in the same run, against the same backend, load and
 * receiver, the modes alternating round by round.
 *
 *   npm run bench:tracing [-- --quick] [--rate 3000] [--rounds 2] [--seconds 8]
 *
 * Processes: the gateway (bench/tracing/gateway-process.ts, 1 worker, from dist/), the suite's echo backend (which
 * sends each batch back as it came, traceparents included, so a traced message also has a delivery span) and load
 * generator (an open loop at a fixed rate over 64 connections, 64-byte payloads), and an OTLP receiver that counts and
 * discards (otlp-sink-process.ts). Gateway CPU is its process's user + system time over the measured window, from
 * /proc, divided by the round trips answered in that window. Writes bench/results/tracing.json and the `tracing`
 * section of BENCHMARKS.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { packServerId } from '../../src/protocol/frame.ts';
import { BenchChild } from '../lib/child-process.ts';
import { DRIVER_FLAGS, intFlag, parseFlags } from '../lib/args.ts';
import { machineFacts } from '../lib/machine.ts';
import { fmt, writeSection } from '../lib/markdown.ts';
import { LogHistogram } from '../lib/histogram.ts';
import { processCpuUs } from '../lib/proc-stat.ts';
import type { EchoBackendReady } from '../suite/echo-backend-process.ts';
import type { ConnectAnswer, LoadgenReady, RunAnswer } from '../suite/loadgen-process.ts';
import type { GatewayReady } from './gateway-process.ts';
import type { SinkReady, SinkStats } from './otlp-sink-process.ts';
import { CONNECTIONS, PAYLOAD_BYTES, tracingReport, type Mode, type RunResult, type TracingResults } from './report.ts';

const here = import.meta.dirname;
const root = resolve(here, '../..');
const values = parseFlags(process.argv.slice(2), {
  ...DRIVER_FLAGS,
  rate: { type: 'string' },
  rounds: { type: 'string' },
  source: { type: 'boolean', default: false },
  // Only render the report again, from bench/results/tracing.json.
  report: { type: 'boolean', default: false },
});
const quick = values.quick!;
const RATE = intFlag(values, 'rate', 100, 1_000_000, 3000);
const ROUNDS = intFlag(values, 'rounds', 1, 20, quick ? 1 : 2);
const MEASURE_MS = intFlag(values, 'seconds', 1, 600, quick ? 3 : 8) * 1000;
const WARMUP_MS = intFlag(values, 'warmup', 0, 600, quick ? 1 : 3) * 1000;

const MODES: readonly Mode[] = [
  { key: 'off', label: 'off (defaults)', tracing: () => ({}) },
  { key: 'propagate-100', label: 'traceparent on every DATA, no export', tracing: () => ({ sampleRatio: 1 }) },
  { key: 'export-0', label: 'export configured, 0 % sampled', tracing: (url) => ({ otlpEndpoint: url }) },
  { key: 'export-1', label: 'export, 1 % sampled', tracing: (url) => ({ otlpEndpoint: url, sampleRatio: 0.01 }) },
  { key: 'export-100', label: 'export, 100 % sampled', tracing: (url) => ({ otlpEndpoint: url, sampleRatio: 1 }) },
];


/** Every mode, round by round; the children started here end with it. */
async function measureAll(): Promise<TracingResults> {
  const suite = (file: string) => resolve(root, 'bench/suite', file);
  const backend = new BenchChild<EchoBackendReady>('backend', suite('echo-backend-process.ts'), ['--count', '1']);
  const loadgen = new BenchChild<LoadgenReady>('loadgen', suite('loadgen-process.ts'), ['--threads', '1']);
  const sink = new BenchChild<SinkReady>('otlp-sink', resolve(here, 'otlp-sink-process.ts'));
  const [backendReady, , sinkReady] = await Promise.all([backend.ready, loadgen.ready, sink.ready]);
  const machine = machineFacts();
  const startedAt = performance.now();

  async function runMode(mode: Mode, round: number): Promise<RunResult> {
    const tracing = JSON.stringify(mode.tracing(sinkReady.url));
    const args = ['--workers', '1', '--backend', backendReady.endpoints[0]!, '--tracing', tracing];
    if (values.source) args.push('--source');
    const gateway = new BenchChild<GatewayReady>(`gateway-${mode.key}`, resolve(here, 'gateway-process.ts'), args);
    try {
      const { pid, port } = await gateway.ready;
      const groups = [{ serverId: packServerId({ serverType: 1 }), count: CONNECTIONS }];
      const connect = { type: 'connect', host: '127.0.0.1', port, groups };
      const connected = await loadgen.request<ConnectAnswer>(connect, 60_000);
      if (connected.failed > 0) throw new Error(`${connected.failed} connections failed: ${connected.firstError}`);
      const before = await sink.request<SinkStats>({ type: 'stats' });
      const open = [{ mode: 'open', rate: RATE }];
      const spec = {
        payloadBytes: PAYLOAD_BYTES, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, drainMs: 1000, groups: open,
      };
      const answer = loadgen.request<RunAnswer>({ type: 'run', spec }, WARMUP_MS + MEASURE_MS + 60_000);
      let from: number | undefined;
      let to: number | undefined;
      const t1 = setTimeout(() => (from = processCpuUs(pid)), WARMUP_MS);
      const t2 = setTimeout(() => (to = processCpuUs(pid)), WARMUP_MS + MEASURE_MS);
      const group = (await answer).groups[0]!;
      clearTimeout(t1);
      clearTimeout(t2);
      to ??= processCpuUs(pid);
      if (from === undefined) throw new Error('the run ended before its measured window');
      await loadgen.request({ type: 'disconnect' }, 60_000);
      // Spans of this run still queued in the gateway are exported within its close.
      await gateway.stop(15_000);
      const after = await sink.request<SinkStats>({ type: 'stats' });
      const latency = LogHistogram.from(group.latency).percentiles();
      const cpu = to - from;
      const result: RunResult = {
        mode: mode.key,
        round,
        rate: group.echoedInWindow / (MEASURE_MS / 1000),
        answered: group.echoedInWindow,
        gatewayCpuUs: cpu,
        gatewayUsPerMessage: cpu / group.echoedInWindow,
        gatewayCores: cpu / (MEASURE_MS * 1000),
        p50Us: latency.p50,
        p99Us: latency.p99,
        spansExported: after.spans - before.spans,
        exports: after.exports - before.exports,
        errors: group.errors,
      };
      process.stderr.write(
        `  round ${round} ${mode.key}: ${fmt(result.rate)} msg/s, ${result.gatewayUsPerMessage.toFixed(2)} µs/msg, ` +
          `${result.gatewayCores.toFixed(2)} cores, p99 ${(result.p99Us / 1000).toFixed(2)} ms, ` +
          `${fmt(result.spansExported)} spans\n`,
      );
      return result;
    } finally {
      await gateway.stop(15_000);
    }
  }

  const results: RunResult[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) for (const mode of MODES) results.push(await runMode(mode, round));
  } finally {
    await Promise.all([loadgen.stop(), backend.stop(), sink.stop()]);
  }

  const seconds = Math.round((performance.now() - startedAt) / 1000);
  return { machine, rate: RATE, rounds: ROUNDS, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, seconds, quick, results };
}

const file = resolve(root, 'bench/results/tracing.json');
let raw: TracingResults;
if (values.report) {
  raw = JSON.parse(readFileSync(file, 'utf8')) as TracingResults;
} else {
  raw = await measureAll();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(raw, null, 2)}\n`);
}
const body = tracingReport(raw, MODES);
if (!values['no-markdown']) writeSection(resolve(root, 'BENCHMARKS.md'), 'tracing', body, '# Benchmarks');
process.stdout.write(`${body}\n`);
