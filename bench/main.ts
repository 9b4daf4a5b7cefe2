/**
 * The benchmark suite: actorgate against a bare uWebSockets.js echo and a naive gateway, side by side in one run on
 * this machine. Round-trip throughput, open-loop latency, CPU per message, head-of-line isolation, fairness inside
 * one backend, connection memory, worker scaling and 19,000 connections with a push each second (--quick: 3,000);
 * then (full runs) the push benchmark. Writes
 * bench/results/suite.json, SVG plots in bench/results/, and the `suite` section of BENCHMARKS.md.
 *
 *   npm run bench [-- --quick] [-- --help]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { DRIVER_FLAGS, intFlag, parseFlags } from './lib/args.ts';
import { BenchChild } from './lib/child-process.ts';
import { summariseProfiles, type ProfileSummary } from './lib/cpu-profile.ts';
import { machineFacts } from './lib/machine.ts';
import { writeSection } from './lib/markdown.ts';
import { BENCHMARKS_INTRO } from './push/report.ts';
import { writePlots } from './suite/plots.ts';
import type { SuiteResult } from './suite/report-data.ts';
import { renderSuite } from './suite/report.ts';
import { fairness, fairnessSettings, type FairnessResult } from './suite/fairness.ts';
import { pushScale, pushScaleSettings } from './suite/push-scale.ts';
import { Rig, TARGETS, type Target } from './suite/rig.ts';
import type { WakeupCost } from './suite/wakeup-cost-process.ts';
import { isolation, latency, memory, throughput, type HolResult, type LatencyRate, type LatencyResult, type MemoryResult, type SuiteSettings, type ThroughputResult } from './suite/scenarios.ts';

const root = resolve(import.meta.dirname, '..');

/** The loads of the p99-added goals, as fractions of actorgate's (2 workers) closed-loop maximum. */
const REFERENCE_FRACTIONS = [0.1, 0.5] as const;

const HELP = `Usage: npm run bench [-- options]

Runs every scenario against every target in one run, then the push benchmark (bench/push), and writes
bench/results/suite.json, bench/results/*.svg and BENCHMARKS.md.

  --quick             a smoke run (about 4 minutes): short runs, fewer memory steps, 3,000 push-scale connections
                      instead of 19,000, no profile, no push benchmark
  --seconds N         measured seconds per run (default 5; --quick: 2)
  --warmup N          warm-up seconds before each run (default 2; --quick: 1)
  --connections N     connections in the throughput and latency runs (default 64)
  --max-connections N idle connections at the last memory step (default 15000; --quick: 3000)
  --threads N         load-generator threads (default 2)
  --loadgen KIND      native (default: bench/native/loadgen.c, built here with $CC or cc; the Node generator runs
                      instead when no compiler is found or the build fails, and the report says so) or node
  --no-profile        skip the CPU profile of actorgate under load
  --no-push           skip the push benchmark
  --no-markdown       do not touch BENCHMARKS.md
  --from-source       run actorgate from src/ through tsx instead of dist/ (development; profiles lose line numbers)
  --render-only       measure nothing: rewrite the plots and BENCHMARKS.md from bench/results/suite.json
`;

function parseOptions(argv: string[]) {
  const values = parseFlags(
    argv,
    {
      ...DRIVER_FLAGS,
      connections: { type: 'string' },
      'max-connections': { type: 'string' },
      threads: { type: 'string' },
      loadgen: { type: 'string', default: 'native' },
      'no-profile': { type: 'boolean', default: false },
      'no-push': { type: 'boolean', default: false },
      'from-source': { type: 'boolean', default: false },
      'render-only': { type: 'boolean', default: false },
    },
    HELP,
  );
  const quick = values.quick!;
  if (values.loadgen !== 'native' && values.loadgen !== 'node') throw new Error(`--loadgen must be native or node, not ${values.loadgen}`);
  const maxConnections = intFlag(values, 'max-connections', 100, 18_000, quick ? 3000 : 15_000);
  const stepCount = quick ? 3 : 4;
  const settings: SuiteSettings = {
    quick,
    warmupMs: intFlag(values, 'warmup', 0, 60, quick ? 1 : 2) * 1000,
    measureMs: intFlag(values, 'seconds', 1, 120, quick ? 2 : 5) * 1000,
    drainMs: 3000,
    connections: intFlag(values, 'connections', 1, 4096, 64),
    payloads: [32, 1024, 16384],
    // Enough in flight to keep every target busy; fewer for big messages, which fill socket buffers sooner.
    windowFor: (bytes) => (bytes > 4096 ? 4 : 16),
    latencyPayload: 32,
    latencyFractions: quick ? REFERENCE_FRACTIONS : [0.1, 0.25, 0.5, 0.75],
    memorySteps: [0, ...Array.from({ length: stepCount }, (_, i) => Math.round((maxConnections * (i + 1)) / stepCount))],
    holConnections: { a: 48, b: 16 },
    // Big enough that B's share overflows the HTTP/2 windows and socket buffers within a run and fills its mailbox.
    holPayload: 1024,
    holRounds: quick ? 1 : 2,
    // Well below saturation: near it, open-loop latency on 2 shared cores swings by 10× between identical runs, and
    // the ratio would measure that, not isolation. Open loop, a message costs several times its closed-loop cost
    // (small batches), so a quarter of the closed-loop maximum already kept actorgate's cores busy.
    holLoad: 0.1,
  };
  return {
    settings,
    threads: intFlag(values, 'threads', 1, 16, 2),
    loadgen: values.loadgen as 'native' | 'node',
    profile: !quick && !values['no-profile'],
    push: !quick && !values['no-push'],
    markdown: !values['no-markdown'],
    fromSource: values['from-source']!,
    renderOnly: values['render-only']!,
  };
}

type Options = ReturnType<typeof parseOptions>;

const byKey = (key: string): Target => TARGETS.find((t) => t.key === key)!;

async function runSuite(options: Options, rig: Rig): Promise<Omit<SuiteResult, 'command' | 'machine' | 'durationSeconds' | 'settings' | 'loadgenThreads' | 'loadgen'>> {
  const s = options.settings;
  const tp: ThroughputResult[] = [];
  const lat: LatencyResult[] = [];
  const maxOf = (key: string) => tp.find((r) => r.target === key && r.payloadBytes === s.latencyPayload)?.rate ?? Number.NaN;
  // actorgate first: the bare echo then also runs at actorgate's 50% rate, for latency added at the same load.
  for (const key of ['actorgate-2', 'actorgate-1', 'naive', 'floor', 'uws-echo']) {
    const target = byKey(key);
    process.stderr.write(`${target.label}: throughput and latency\n`);
    await rig.startTarget(target);
    tp.push(...(await throughput(rig, target, s)));
    const rates: LatencyRate[] = s.latencyFractions.map((fraction) => ({ fraction, rate: fraction * maxOf(key) }));
    // The bare echo also runs at actorgate's rates of the latency goals, for the p99 added at the same load.
    if (key === 'uws-echo') for (const f of REFERENCE_FRACTIONS) rates.push({ fraction: null, rate: f * maxOf('actorgate-2'), referenceFraction: f });
    lat.push(...(await latency(rig, target, s, rates)));
    await rig.stopTarget();
  }

  const hol: HolResult[] = [];
  for (const key of ['actorgate-2', 'naive']) {
    const target = byKey(key);
    process.stderr.write(`${target.label}: head-of-line isolation\n`);
    await rig.startTarget(target);
    const aRate = s.holLoad * (tp.find((r) => r.target === key && r.payloadBytes === s.holPayload)?.rate ?? Number.NaN);
    hol.push(await isolation(rig, target, s, aRate, Math.max(200, 0.1 * aRate)));
    await rig.stopTarget();
  }

  const fair: FairnessResult[] = [];
  const fairSettings = fairnessSettings(s);
  for (const key of ['actorgate-2', 'naive']) {
    const target = byKey(key);
    process.stderr.write(`${target.label}: fairness inside one backend\n`);
    await rig.startTarget(target);
    fair.push(await fairness(rig, target, fairSettings, fairSettings.load * (tp.find((r) => r.target === key && r.payloadBytes === fairSettings.payloadBytes)?.rate ?? Number.NaN)));
    await rig.stopTarget();
  }

  const mem: MemoryResult[] = [];
  // The floor relay is a reference for the message path only: its memory per connection is the bare echo's.
  for (const target of TARGETS.filter((t) => t.kind !== 'floor')) {
    process.stderr.write(`${target.label}: memory per idle connection\n`);
    // V8's memory reducer hands heap back at moments of its choosing, by more than a step of connections adds: off,
    // RSS follows what the process keeps (the 19,000-connection scenario does the same).
    await rig.startTarget(target, ['--no-memory-reducer']);
    mem.push(await memory(rig, target, s));
    await rig.stopTarget();
  }

  process.stderr.write('this machine: CPU per event-loop turn\n');
  const wakeupChild = new BenchChild<{ pid: number }>('wakeup-cost', resolve(root, 'bench/suite/wakeup-cost-process.ts'), [
    '--endpoint',
    rig.backendReady.endpoints[0]!,
    '--seconds',
    s.quick ? '2' : '3',
  ]);
  await wakeupChild.ready;
  const wakeup = await wakeupChild.request<WakeupCost>({ type: 'measure' }, 60_000);
  await wakeupChild.stop();
  process.stderr.write(`  idle turn ${wakeup.idleTurnUs.toFixed(1)} µs, turn with a gRPC write and its echo ${wakeup.grpcTurnUs.toFixed(1)} µs\n`);

  const scale = pushScaleSettings(s.quick);
  process.stderr.write(`actorgate, 2 workers: ${scale.connections} connections with a push each second\n`);
  const pushScaleResult = await pushScale(rig, scale);

  let profile: { summary: ProfileSummary; payloadBytes: number; seconds: number } | null = null;
  if (options.profile) {
    process.stderr.write('actorgate, 2 workers: CPU profile under load\n');
    const dir = resolve(root, 'bench/results/profile.tmp');
    rmSync(dir, { recursive: true, force: true });
    const target = byKey('actorgate-2');
    await rig.startTarget(target, ['--cpu-prof', '--cpu-prof-dir', dir]);
    const payloadBytes = 1024;
    await throughput(rig, target, { ...s, payloads: [payloadBytes] });
    await rig.stopTarget();
    profile = { summary: summariseProfiles(dir, root), payloadBytes, seconds: (s.warmupMs + s.measureMs) / 1000 };
    rmSync(dir, { recursive: true, force: true });
  }
  return { throughput: tp, latency: lat, isolation: hol, fairness: fair, memory: mem, wakeup, pushScale: pushScaleResult, profile };
}

function runPush(): Promise<void> {
  return new Promise((resolvePush, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'bench/push/main.ts')], { stdio: 'inherit', cwd: root });
    child.once('exit', (code) => (code === 0 ? resolvePush() : reject(new Error(`the push benchmark exited with ${code}`))));
  });
}

const resultsFile = resolve(root, 'bench/results/suite.json');

function render(result: SuiteResult, markdown: boolean): string[] {
  const plots = writePlots(result, resolve(root, 'bench/results'));
  if (markdown) writeSection(resolve(root, 'BENCHMARKS.md'), 'suite', renderSuite(result, plots.map((p) => relative(root, p))), BENCHMARKS_INTRO);
  return plots;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.renderOnly) {
    const plots = render(JSON.parse(readFileSync(resultsFile, 'utf8')) as SuiteResult, options.markdown);
    process.stderr.write(`rewrote ${plots.length} plots${options.markdown ? ' and the suite section of BENCHMARKS.md' : ''} from ${relative(root, resultsFile)}\n`);
    return;
  }
  if (!options.fromSource && !existsSync(resolve(root, 'dist/src/gateway.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm run bench does)');
  const began = performance.now();
  const machine = machineFacts();
  const rig = new Rig(options.threads, options.fromSource, options.loadgen);
  const watchdog = setTimeout(() => {
    process.stderr.write('bench: overran its deadline; stopping\n');
    process.exit(1);
  }, (options.settings.quick ? 6 : 30) * 60_000);
  watchdog.unref();
  const interrupt = () => {
    process.stderr.write('bench: interrupted\n');
    void rig.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  let measured;
  try {
    await rig.start();
    measured = await runSuite(options, rig);
  } finally {
    await rig.close();
  }
  const { settings } = options;
  const result: SuiteResult = {
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine,
    settings: { ...settings, windowFor: undefined, windows: Object.fromEntries(settings.payloads.map((p) => [p, settings.windowFor(p)])) },
    loadgenThreads: options.threads,
    loadgen: { generator: rig.loadgenReady.generator, ...(rig.loadgenFallback === undefined ? {} : { fallback: rig.loadgenFallback }) },
    ...measured,
    durationSeconds: (performance.now() - began) / 1000,
  };
  const out = resultsFile;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2).replace(/\[\s+(\d+),\s+(\d+)\s+\]/g, '[$1, $2]')}\n`);
  const plots = render(result, options.markdown);
  process.stderr.write(`wrote ${relative(root, out)}, ${plots.length} plots${options.markdown ? ' and the suite section of BENCHMARKS.md' : ''} in ${result.durationSeconds.toFixed(0)} s\n`);
  clearTimeout(watchdog);
  if (options.push) await runPush();
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
