/**
 * Markdown output for benchmark reports: tables, number formatting, and a file (BENCHMARKS.md) shared by several
 * benchmarks, each owning one section between `<!-- name:begin -->` and `<!-- name:end -->`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export type Align = 'left' | 'right';

/** A GitHub-flavoured Markdown table; columns are right-aligned unless told otherwise. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const rule = headers.map((_, i) => ((align[i] ?? 'right') === 'right' ? '---:' : ':---'));
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(headers), line(rule), ...rows.map(line)].join('\n');
}

/** A number with thousands separators and `digits` decimals; '–' for NaN or undefined. */
export function fmt(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A ratio as "2.31×". */
export function ratio(value: number | undefined, digits = 2): string {
  return value === undefined || !Number.isFinite(value) ? '–' : `${value.toFixed(digits)}×`;
}

/** `value` ÷ `reference` as a ratio; '–' when the reference run is missing (or either is not a number). */
export function ratioOf(value: number | undefined, reference: number | undefined, digits = 2): string {
  return ratio((value ?? NaN) / (reference ?? NaN), digits);
}

/** Milliseconds from microseconds: "1.23". */
export function ms(us: number | undefined, digits = 2): string {
  return us === undefined || !Number.isFinite(us) ? '–' : (us / 1000).toFixed(digits);
}

/**
 * Writes `body` as section `name` of the Markdown file at `path`: replaces the section when it is there, appends it
 * otherwise; creates the file, starting with `intro`, when it does not exist. Other sections are left as they are.
 */
export function writeSection(path: string, name: string, body: string, intro: string): void {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const section = `${begin}\n${body.trim()}\n${end}`;
  const text = existsSync(path) ? readFileSync(path, 'utf8') : `${intro.trim()}\n`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  const next = from >= 0 && to > from ? text.slice(0, from) + section + text.slice(to + end.length) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
}
