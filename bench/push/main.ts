/**
 * Push benchmark: gRPC PushStream versus REST (HTTP/1.1 + JSON) for a topic push fanned out to 100 sessions, at a
 * fixed 1,000 pushes/s and as fast as it goes, both transports in the same run against the same gateway.
 *
 *   npm run bench:push [-- --quick] [-- --help]
 *
 * Three processes, so that each one's CPU can be read from /proc on its own: the gateway (bench/push/gateway-process.ts),
 * the receivers (bench/push/receivers-process.ts) and this driver, which is also the publisher. Writes
 * bench/results/push.json and the `push` section of BENCHMARKS.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DRIVER_FLAGS, intFlag, parseFlags } from '../lib/args.ts';
import { BenchChild } from '../lib/child-process.ts';
import { monoMs } from '../lib/clock.ts';
import { machineFacts } from '../lib/machine.ts';
import { writeSection } from '../lib/markdown.ts';
import type { GatewayReady } from './gateway-process.ts';
import { STAMP_BYTES } from './payload.ts';
import type { ReceiversReady } from './receivers-process.ts';
import { BENCHMARKS_INTRO, renderMarkdown, renderSummary } from './report.ts';
import { compare, sideOf, type Comparison, type PushBenchResult, type RoundResult, type Scenario } from './results.ts';
import { runOne, sleep, takeSample, type Rig, type RunSettings } from './run.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const HELP = `Usage: npm run bench:push [-- options]

  --quick               one short round per side (well under a minute of load)
  --rounds N            rounds per scenario, each running both sides, in alternating order (default 2; --quick: 1)
  --seconds N           measured seconds per run (default 6 at the fixed rate, 5 as fast as it goes; --quick: 3)
  --warmup N            warm-up seconds before each measured part (default 2; --quick: 1)
  --rate N              fixed-rate pushes per second (default 1000)
  --sessions N          receiving sessions, all on one topic (default 100)
  --workers N           gateway worker threads (default 2)
  --connections N       REST keep-alive connections, one request in flight each (default 16)
  --grpc-window N       gRPC stream writes outstanding as fast as it goes (default 16)
  --batch N             pushes per call in the batched scenario; 0 skips it (default 10)
  --payload-bytes N     payload size, at least ${STAMP_BYTES} (default 64)
  --out FILE            raw results (default bench/results/push.json)
  --markdown FILE       report section written into FILE (default BENCHMARKS.md); --no-markdown skips it
`;

interface Options extends RunSettings {
  quick: boolean;
  rounds: number;
  fixedSeconds: number;
  maxSeconds: number;
  warmupSeconds: number;
  rate: number;
  sessions: number;
  workers: number;
  connections: number;
  grpcWindow: number;
  batch: number;
  payloadBytes: number;
  out: string;
  markdown: string | null;
}

function parseOptions(argv: string[]): Options {
  const values = parseFlags(
    argv,
    {
      ...DRIVER_FLAGS,
      rounds: { type: 'string' },
      rate: { type: 'string' },
      sessions: { type: 'string' },
      workers: { type: 'string' },
      connections: { type: 'string' },
      'grpc-window': { type: 'string' },
      batch: { type: 'string' },
      'payload-bytes': { type: 'string' },
      out: { type: 'string', default: 'bench/results/push.json' },
      markdown: { type: 'string', default: 'BENCHMARKS.md' },
    },
    HELP,
  );
  const quick = values.quick!;
  return {
    quick,
    rounds: intFlag(values, 'rounds', 1, 20, quick ? 1 : 2),
    fixedSeconds: intFlag(values, 'seconds', 1, 120, quick ? 3 : 6),
    maxSeconds: intFlag(values, 'seconds', 1, 120, quick ? 3 : 5),
    warmupSeconds: intFlag(values, 'warmup', 0, 60, quick ? 1 : 2),
    rate: intFlag(values, 'rate', 1, 1_000_000, 1000),
    sessions: intFlag(values, 'sessions', 1, 10_000, 100),
    workers: intFlag(values, 'workers', 1, 64, 2),
    connections: intFlag(values, 'connections', 1, 1024, 16),
    grpcWindow: intFlag(values, 'grpc-window', 1, 100_000, 16),
    batch: intFlag(values, 'batch', 0, 10_000, 10),
    payloadBytes: intFlag(values, 'payload-bytes', STAMP_BYTES, 60_000, 64),
    out: resolve(root, values.out!),
    markdown: values['no-markdown'] ? null : resolve(root, values.markdown!),
  };
}

function scenariosOf(options: Options): Scenario[] {
  const list: Scenario[] = [
    { key: 'fixed-rate', label: `${options.rate.toLocaleString('en-US')} pushes/s`, mode: 'fixed', pushesPerCall: 1, order: ['grpc', 'rest'] },
    { key: 'max-1', label: 'as fast as it goes, 1 push per call', mode: 'max', pushesPerCall: 1, order: ['rest', 'grpc'] },
  ];
  if (options.batch > 1) {
    list.push({ key: 'max-batch', label: `as fast as it goes, ${options.batch} pushes per call`, mode: 'max', pushesPerCall: options.batch, order: ['grpc', 'rest'] });
  }
  return list;
}

function progress(run: RoundResult): void {
  const f = run.figures;
  process.stderr.write(
    `  ${run.scenario} ${run.transport} #${run.round + 1}: ${Math.round(f.pushesPerSecond)} pushes/s, ${Math.round(f.deliveriesPerSecond)} deliveries/s ` +
      `(lost ${run.totals.lost}), p99 ${(f.latencyUs.p99 / 1000).toFixed(2)} ms, gateway ${f.gatewayUsPerPush.toFixed(1)} µs/push ` +
      `(${f.gatewayCores.toFixed(2)} cores, main ${f.gatewayMainThreadCores.toFixed(2)}), receivers ${f.receiversCores.toFixed(2)}, ` +
      `publisher ${f.publisherCores.toFixed(2)}, machine ${f.machineBusyCores.toFixed(2)} busy\n`,
  );
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const began = monoMs();
  const machine = machineFacts();
  const scenarios = scenariosOf(options);
  const children: BenchChild<unknown>[] = [];
  let finished = false;
  const watch = (child: BenchChild<unknown>) => {
    children.push(child);
    void child.exited.then((code) => {
      if (!finished) process.stderr.write(`bench:push: the ${child.name} process exited (${code}) during the run\n`);
    });
  };
  // A last resort: nothing here should take this long; the exit hook in child-process.ts kills the children.
  const watchdog = setTimeout(() => {
    process.stderr.write('bench:push: overran its deadline; stopping\n');
    process.exit(1);
  }, (options.quick ? 150 : 400) * 1000);
  const interrupt = () => {
    finished = true;
    process.stderr.write('bench:push: interrupted\n');
    void Promise.all(children.map((c) => c.stop(2000))).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const gatewayChild = new BenchChild<GatewayReady>('gateway', resolve(here, 'gateway-process.ts'), ['--workers', String(options.workers)]);
    watch(gatewayChild);
    const gateway = await gatewayChild.ready;
    const receivers = new BenchChild<ReceiversReady>('receivers', resolve(here, 'receivers-process.ts'), ['--port', String(gateway.port), '--sessions', String(options.sessions)]);
    watch(receivers);
    const receiversReady = await receivers.ready;
    process.stderr.write(`gateway pid ${gateway.pid} (${gateway.workers} workers), ${receiversReady.sessions} sessions (per worker: ${receiversReady.perWorker.join('/')})\n`);
    const rig: Rig = { settings: options, gateway, receivers, receiversPid: receiversReady.pid };

    const idleFrom = await takeSample(rig);
    await sleep(1000);
    const idleTo = await takeSample(rig);
    const idleGatewayCores = (idleTo.gatewayUs - idleFrom.gatewayUs) / 1e3 / (idleTo.atMs - idleFrom.atMs);

    const rounds: RoundResult[] = [];
    let nextId = 1;
    for (const scenario of scenarios) {
      process.stderr.write(`${scenario.label}:\n`);
      for (let round = 0; round < options.rounds; round++) {
        const order = round % 2 === 0 ? scenario.order : [...scenario.order].reverse();
        for (const transport of order) {
          const ids = { warm: nextId++, measured: nextId++ };
          const run = await runOne(rig, scenario, transport, round, ids);
          rounds.push(run);
          progress(run);
          await sleep(300); // let this run's tail (GC, socket buffers) settle before the next one starts
        }
      }
    }

    const sides = scenarios.flatMap((s) => s.order.map((t) => sideOf(s, t, rounds, options.sessions)));
    const comparisons = scenarios.map((s) => compare(s, sides, rounds)).filter((c): c is Comparison => c !== undefined);
    const result: PushBenchResult = {
      benchmark: 'push',
      command: `npm run bench:push${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      machine,
      options: { ...options, out: relative(root, options.out), markdown: options.markdown === null ? false : relative(root, options.markdown) },
      setup: {
        gatewayWorkers: gateway.workers,
        sessions: receiversReady.sessions,
        sessionsPerWorker: receiversReady.perWorker,
        payloadBytes: options.payloadBytes,
        restConnections: options.connections,
        grpcWindow: options.grpcWindow,
      },
      idleGatewayCores,
      scenarios,
      sides,
      comparisons,
      rounds,
      durationSeconds: (monoMs() - began) / 1000,
    };
    mkdirSync(dirname(options.out), { recursive: true });
    // Histogram buckets are [index, count] pairs: one line each, not four.
    writeFileSync(options.out, `${JSON.stringify(result, null, 2).replace(/\[\s+(\d+),\s+(\d+)\s+\]/g, '[$1, $2]')}\n`);
    if (options.markdown !== null) writeSection(options.markdown, 'push', renderMarkdown(result), BENCHMARKS_INTRO);
    process.stdout.write(`${renderSummary(result)}\n`);
    process.stderr.write(
      `wrote ${relative(root, options.out)}${options.markdown === null ? '' : ` and the push section of ${relative(root, options.markdown)}`} in ${result.durationSeconds.toFixed(0)} s\n`,
    );
  } finally {
    finished = true;
    await Promise.all(children.map((c) => c.stop()));
    clearTimeout(watchdog);
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:push failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
