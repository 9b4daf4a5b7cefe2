/**
 * `npm run fuzz`: the fuzz harness (run.ts) with its report, written to the `fuzz` section of BENCHMARKS.md.
 *
 *   npm run fuzz [-- --frames N] [-- --connections N] [-- --seed N] [-- --no-markdown]
 */
import { resolve } from 'node:path';
import { intFlag, parseFlags } from '../lib/args.ts';
import { fmt, table, writeSection } from '../lib/markdown.ts';
import { machineFacts } from '../lib/machine.ts';
import { BENCHMARKS_INTRO } from '../push/report.ts';
import { runFuzz, type FuzzResult } from './run.ts';

const HELP = `Usage: npm run fuzz [-- options]

Runs a 2-worker gateway (the actorgate command, from dist/) under structure-aware fuzzing and WebSocket-level
malformations while a well-behaved client echoes, and writes the fuzz section of BENCHMARKS.md.

  --frames N        mutated messages in all (default 1000000)
  --connections N   fuzzing connections (default 50)
  --seed N          first connection's generator seed (default 1)
  --no-markdown     do not touch BENCHMARKS.md
  --help
`;

export function renderFuzz(result: FuzzResult, command: string, machine: string): string {
  const { good } = result;
  const verdict = !result.processExited && result.workerRestarts === 0 && good.lost === 0 ? 'no crash, no worker restart, no loss' : 'FAILED';
  return [
    '## Fuzzing',
    '',
    `\`${command}\` on ${machine}: ${fmt(result.framesSent)} mutated messages over ${result.options.connections} connections in ${result.seconds.toFixed(1)} s against a 2-worker gateway (uWS ${result.uwsVersion}), seed ${result.options.seed}: **${verdict}**.`,
    '',
    table(
      ['gateway process exited', 'worker restarts', 'RSS before → after', 'fuzzing connections ended by the gateway', 'good client sent / echoed / lost', 'good client p50 / p99'],
      [[result.processExited ? 'yes' : 'no', fmt(result.workerRestarts), `${fmt(result.rssStartMiB, 1)} → ${fmt(result.rssEndMiB, 1)} MiB`, fmt(result.reconnects), `${fmt(good.sent)} / ${fmt(good.echoed)} / ${fmt(good.lost)}`, `${fmt(good.p50Ms, 2)} / ${fmt(good.p99Ms, 2)} ms`]],
    ),
    '',
    'The good client sends one echo every 5 ms from the harness process, which also drives the fuzzing connections: its send rate and round trips include that process\'s own event-loop lag, so they bound the gateway\'s effect from above.',
    '',
    'Messages by mutation (bench/fuzz/frames.ts):',
    '',
    table(Object.keys(result.byKind), [Object.values(result.byKind).map((n) => fmt(n))]),
    '',
    'WebSocket-level malformations, each on a fresh raw connection (bench/fuzz/ws-malformations.ts): did the gateway end it within 2 s?',
    '',
    table(['malformation', 'connection ended', 'after'], result.malformations.map((m) => [m.name, m.closed ? 'yes' : '**no**', `${m.ms} ms`]), ['left', 'left', 'right']),
  ].join('\n');
}

async function main(): Promise<void> {
  const values = parseFlags(process.argv.slice(2), {
    frames: { type: 'string' },
    connections: { type: 'string' },
    seed: { type: 'string' },
    'no-markdown': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  }, HELP);
  const options = {
    frames: intFlag(values, 'frames', 1, 100_000_000, 1_000_000),
    connections: intFlag(values, 'connections', 1, 1000, 50),
    seed: intFlag(values, 'seed', 0, 0xffff_ffff, 1),
  };
  const result = await runFuzz(options);
  const command = `npm run fuzz${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const m = machineFacts();
  const body = renderFuzz(result, command, `${m.cores} cores (${m.cpuModel}), Node ${m.node}, ${m.date.slice(0, 10)}`);
  process.stdout.write(`${body}\n`);
  if (!values['no-markdown']) writeSection(resolve(import.meta.dirname, '../../BENCHMARKS.md'), 'fuzz', body, BENCHMARKS_INTRO);
  if (result.processExited || result.workerRestarts !== 0 || result.good.lost !== 0) process.exitCode = 1;
}

await main();
