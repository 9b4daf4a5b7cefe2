/**
 * Command-line flags of the benchmark's entry points (bench/main.ts, bench/push/main.ts, the child processes).
 * Integers are read as the actorgate CLI reads them (src/cli/args.ts `parseInteger`: decimal only, so "0x10", "1e3"
 * and "" are refused instead of becoming 16, 1000 and 0), then range-checked: a typo stops the run before it measures
 * something other than what was asked.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseInteger } from '../../src/cli/args.ts';

type FlagOptions = NonNullable<ParseArgsConfig['options']>;
/** What parseArgs gives for `options` (named, so the declaration emit can refer to it). */
export type FlagValues<O extends FlagOptions> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'];

/**
 * Parses `args` strictly (an unknown flag or a positional throws). With `help`, `--help` (which `options` must
 * declare) prints it and exits.
 */
export function parseFlags<const O extends FlagOptions>(args: string[], options: O, help?: string): FlagValues<O> {
  const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
  if (help !== undefined && (values as { help?: unknown }).help === true) {
    process.stdout.write(help);
    process.exit(0);
  }
  return values;
}

/** Flag `--name` (a string flag of `values`) as an integer in min–max; `fallback` when absent, which is an error without one. */
export function intFlag(values: Readonly<Record<string, unknown>>, name: string, min: number, max: number, fallback?: number): number {
  const raw = values[name];
  if (raw === undefined) {
    if (fallback === undefined) throw new Error(`--${name} is required`);
    return fallback;
  }
  if (typeof raw !== 'string') throw new TypeError(`--${name} is not declared as a string flag`);
  const value = parseInteger(raw, `--${name}`);
  if (value < min || value > max) throw new RangeError(`--${name} must be in ${min}–${max}, got ${value}`);
  return value;
}

/** The flags every benchmark driver takes: a quick smoke run, its measured and warm-up seconds, the report switch, help. */
export const DRIVER_FLAGS = {
  quick: { type: 'boolean', default: false },
  seconds: { type: 'string' },
  warmup: { type: 'string' },
  'no-markdown': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const satisfies FlagOptions;
