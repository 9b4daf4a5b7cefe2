/**
 * Dependency-free SVG charts for benchmark reports: line charts (linear or log axes), grouped bar charts, and
 * HdrHistogram-style latency percentile plots. Each function returns a standalone SVG document, meant to be written
 * next to BENCHMARKS.md and linked from it, so it carries its own white background and font.
 */

/** One line of a line chart: points are joined in the order given; unplottable ones are skipped. */
export interface Series { name: string; points: readonly (readonly [x: number, y: number])[] }

/** An axis tick at `value` (in data units), shown as `label`. */
export interface Tick { value: number; label: string }

/** Options for {@link lineChart}. */
export interface LineChartOptions {
  title: string; xLabel: string; yLabel: string;
  series: readonly Series[];
  /** Default 'linear'; 'log' skips points with x ≤ 0. */
  xScale?: 'linear' | 'log';
  /** Default 'linear'; 'log' skips points with y ≤ 0. */
  yScale?: 'linear' | 'log';
  /** Default: 1-2-5 steps for linear, powers of ten for log. Ticks outside the data range are dropped. */
  xTicks?: readonly Tick[];
  yTicks?: readonly Tick[];
  /** Bottom of the y axis. Default 0 for linear (lower if data is negative), the data minimum for log. */
  yMin?: number;
  /** Default 720 × 400. */
  width?: number; height?: number;
  /** Draw a dot at each point. Default false (a series with a single point always gets one, or it would be invisible). */
  markers?: boolean;
}

/** Options for {@link barChart}. */
export interface BarChartOptions {
  title: string; yLabel: string;
  /** The x-axis categories. */
  groups: readonly string[];
  /** One bar per series per group; `values[i]` belongs to `groups[i]`, undefined (or non-finite) means no bar. */
  series: readonly { name: string; values: readonly (number | undefined)[] }[];
  /** Default 720 × 400. */
  width?: number; height?: number;
  /** Print the value above each bar, compactly (12.3k, 1.2M). Default true. */
  valueLabels?: boolean;
}

type ScaleKind = 'linear' | 'log';
interface Box { left: number; right: number; top: number; bottom: number }

// Okabe-Ito: stays distinguishable under the common colour-vision deficiencies. Yellow is last: it is faint on white.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'];
const colour = (i: number): string => PALETTE[i % PALETTE.length]!;

const FONT = 12;
const CHAR = 0.6 * FONT; // rough average sans-serif glyph width: enough to lay out the legend without measuring text
const MARGIN = { left: 64, right: 28, bottom: 48 };

/** Coordinates to 0.1 px: plenty for a screen, and keeps the file small. */
const f = (n: number): string => String(Math.round(n * 10) / 10);

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/** 1.5k, 2M, 0.25, 12.3k: three significant digits with a k/M/G suffix. */
function compact(value: number): string {
  const round = (v: number) => Number(v.toPrecision(3));
  for (const [scale, suffix] of [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const) {
    // 999.7 rounds to 1000, so it must already count as "1k" rather than print as "1e+3".
    if (Math.abs(value) >= scale * 0.9995) return `${round(value / scale)}${suffix}`;
  }
  return String(round(value));
}

const plottable = (v: number, kind: ScaleKind): boolean => Number.isFinite(v) && (kind === 'linear' || v > 0);

function scale(kind: ScaleKind, lo: number, hi: number, from: number, to: number): (v: number) => number {
  const t = kind === 'log' ? Math.log10 : (v: number) => v;
  const a = t(lo);
  const span = t(hi) - a;
  return (v) => from + ((t(v) - a) / span) * (to - from);
}

/** A 1-2-5 step giving about `target` intervals over `span`. */
function niceStep(span: number, target = 5): number {
  const raw = span / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const m = raw / magnitude;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * magnitude;
}

// toPrecision(12) cleans up float noise such as 0.30000000000000004 before a value becomes a tick or a label.
const clean = (v: number): number => Number(v.toPrecision(12));

/**
 * The axis range for `values` (all plottable, at least one): widened around a lone value so the scale is not
 * degenerate, and with `roundOut` extended to whole linear steps so the top gridline sits at or above the data.
 */
function extent(values: readonly number[], kind: ScaleKind, lo: number | undefined, roundOut: boolean): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) { if (v < min) min = v; if (v > max) max = v; } // no Math.min(...): big arrays overflow the stack
  let a = lo !== undefined && plottable(lo, kind) ? lo : min;
  let b = max;
  if (!(b > a)) [a, b] = kind === 'log' ? [a / Math.sqrt(10), a * Math.sqrt(10)] : [a - (Math.abs(a) / 2 || 1), a + (Math.abs(a) / 2 || 1)];
  if (roundOut && kind === 'linear') {
    const step = niceStep(b - a);
    b = clean(Math.ceil(b / step) * step);
    if (lo === undefined) a = clean(Math.floor(a / step) * step);
  }
  return [a, b];
}

function defaultTicks(kind: ScaleKind, a: number, b: number): Tick[] {
  const values: number[] = [];
  if (kind === 'linear') {
    const step = niceStep(b - a);
    for (let i = Math.ceil(a / step); i * step <= b + step * 1e-9; i++) values.push(clean(i * step));
  } else {
    const [e0, e1] = [Math.floor(Math.log10(a)), Math.ceil(Math.log10(b))];
    // Under two decades there would be at most one power of ten to label, so add 2× and 5× ticks.
    const multiples = e1 - e0 > 2 ? [1] : [1, 2, 5];
    for (let e = e0; e <= e1; e++) for (const m of multiples) values.push(clean(m * 10 ** e));
  }
  return values.map((value) => ({ value, label: compact(value) }));
}

/** Opens the document: background, title, and a legend wrapped in rows under the title; returns the plot area. */
function start(width: number, height: number, title: string, names: readonly string[], swatch: 'line' | 'box') {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${f(width / 2)}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`,
  ];
  // The legend sits above the plot, not beside it, so any number of series fits without narrowing the plot.
  let x = MARGIN.left;
  let y = 46;
  names.forEach((name, i) => {
    const w = 22 + name.length * CHAR + 18;
    if (x + w > width - MARGIN.right && x > MARGIN.left) [x, y] = [MARGIN.left, y + 18];
    out.push(swatch === 'line'
      ? `<line x1="${f(x)}" y1="${y - 4}" x2="${f(x + 16)}" y2="${y - 4}" stroke="${colour(i)}" stroke-width="2.5"/>`
      : `<rect x="${f(x + 3)}" y="${y - 10}" width="10" height="10" fill="${colour(i)}"/>`,
      `<text x="${f(x + 22)}" y="${y}">${esc(name)}</text>`);
    x += w;
  });
  const top = names.length > 0 ? y + 18 : 44;
  const plot: Box = { left: MARGIN.left, right: Math.max(MARGIN.left + 10, width - MARGIN.right), top, bottom: Math.max(top + 10, height - MARGIN.bottom) };
  return { out, plot };
}

const finish = (out: string[]): string => `${[...out, '</svg>'].join('\n')}\n`;

function noData(out: string[], plot: Box): string {
  out.push(`<text x="${f((plot.left + plot.right) / 2)}" y="${f((plot.top + plot.bottom) / 2)}" text-anchor="middle" font-size="14" fill="#666">no data</text>`);
  return finish(out);
}

/** Horizontal gridlines and labels for the y ticks that fall inside the plot, plus the rotated axis title. */
function yAxis(out: string[], plot: Box, ticks: readonly Tick[], ys: (v: number) => number, label: string): void {
  for (const t of ticks) {
    const y = ys(t.value);
    if (!(y >= plot.top - 0.5 && y <= plot.bottom + 0.5)) continue;
    out.push(`<line x1="${plot.left}" y1="${f(y)}" x2="${plot.right}" y2="${f(y)}" stroke="#e4e4e4"/>`,
      `<text x="${plot.left - 6}" y="${f(y + 4)}" text-anchor="end" fill="#333">${esc(t.label)}</text>`);
  }
  const mid = f((plot.top + plot.bottom) / 2);
  out.push(`<text transform="rotate(-90)" x="-${mid}" y="16" text-anchor="middle">${esc(label)}</text>`);
}

const axisLines = (plot: Box, baseline = plot.bottom): string =>
  `<path d="M${plot.left},${plot.top}V${plot.bottom}M${plot.left},${f(baseline)}H${plot.right}" stroke="#333" fill="none"/>`;

/** A line chart of one or more series, each in its own palette colour, on linear or log axes. */
export function lineChart(options: LineChartOptions): string {
  const { width = 720, height = 400, xScale = 'linear', yScale = 'linear' } = options;
  const { out, plot } = start(width, height, options.title, options.series.map((s) => s.name), 'line');
  const usable = options.series.map((s) => s.points.filter(([x, y]) => plottable(x, xScale) && plottable(y, yScale)));
  const points = usable.flat();
  if (points.length === 0) return noData(out, plot);

  // A linear y axis starts at 0 so heights compare honestly, unless data is negative: then it is rounded down below it.
  const yLow = options.yMin ?? (yScale === 'linear' && points.every((p) => p[1] >= 0) ? 0 : undefined);
  const [x0, x1] = extent(points.map((p) => p[0]), xScale, undefined, false);
  const [y0, y1] = extent(points.map((p) => p[1]), yScale, yLow, true);
  const xs = scale(xScale, x0, x1, plot.left, plot.right);
  const ys = scale(yScale, y0, y1, plot.bottom, plot.top);

  yAxis(out, plot, options.yTicks ?? defaultTicks(yScale, y0, y1), ys, options.yLabel);
  for (const t of options.xTicks ?? defaultTicks(xScale, x0, x1)) {
    const x = xs(t.value);
    if (!(x >= plot.left - 0.5 && x <= plot.right + 0.5)) continue;
    out.push(`<line x1="${f(x)}" y1="${plot.top}" x2="${f(x)}" y2="${plot.bottom}" stroke="#e4e4e4"/>`,
      `<text x="${f(x)}" y="${plot.bottom + 16}" text-anchor="middle" fill="#333">${esc(t.label)}</text>`);
  }
  out.push(`<text x="${f((plot.left + plot.right) / 2)}" y="${height - 10}" text-anchor="middle">${esc(options.xLabel)}</text>`,
    axisLines(plot));

  // Clip to the plot (plus room for a marker's radius) so points below an explicit yMin cannot spill over the labels.
  out.push(`<clipPath id="plot-area"><rect x="${plot.left - 4}" y="${plot.top - 4}" width="${plot.right - plot.left + 8}" height="${plot.bottom - plot.top + 8}"/></clipPath>`,
    '<g clip-path="url(#plot-area)" fill="none" stroke-width="2" stroke-linejoin="round">');
  usable.forEach((pts, i) => {
    if (pts.length === 0) return;
    const d = pts.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${f(xs(x))},${f(ys(y))}`).join('');
    out.push(`<path d="${d}" stroke="${colour(i)}"/>`);
    if (options.markers || pts.length === 1) {
      out.push(...pts.map(([x, y]) => `<circle cx="${f(xs(x))}" cy="${f(ys(y))}" r="3" fill="${colour(i)}" stroke="none"/>`));
    }
  });
  out.push('</g>');
  return finish(out);
}

/** A grouped bar chart: one cluster per group, one bar per series in each, on a linear y axis that includes zero. */
export function barChart(options: BarChartOptions): string {
  const { width = 720, height = 400, valueLabels = true, groups, series } = options;
  const { out, plot } = start(width, height, options.title, series.map((s) => s.name), 'box');
  const isValue = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);
  const values = series.flatMap((s) => s.values.slice(0, groups.length).filter(isValue));
  if (groups.length === 0 || values.length === 0) return noData(out, plot);

  // Bars grow from zero, so zero is always in range, whichever side of it the values are.
  const [y0, y1] = extent([0, ...values], 'linear', undefined, true);
  const ys = scale('linear', y0, y1, plot.bottom, plot.top);
  yAxis(out, plot, defaultTicks('linear', y0, y1), ys, options.yLabel);

  const band = (plot.right - plot.left) / groups.length;
  const barWidth = (band * 0.8) / Math.max(1, series.length);
  groups.forEach((group, g) => {
    out.push(`<text x="${f(plot.left + band * (g + 0.5))}" y="${plot.bottom + 16}" text-anchor="middle" fill="#333">${esc(group)}</text>`);
    series.forEach((s, i) => {
      const v = s.values[g];
      if (!isValue(v)) return;
      const x = plot.left + band * (g + 0.1) + barWidth * i;
      const [top, bottom] = [Math.min(ys(v), ys(0)), Math.max(ys(v), ys(0))];
      out.push(`<rect x="${f(x + 0.5)}" y="${f(top)}" width="${f(Math.max(1, barWidth - 1))}" height="${f(bottom - top)}" fill="${colour(i)}"/>`);
      if (valueLabels) {
        const ly = v >= 0 ? top - 4 : bottom + 11;
        out.push(`<text x="${f(x + barWidth / 2)}" y="${f(ly)}" text-anchor="middle" font-size="10" fill="#333">${compact(v)}</text>`);
      }
    });
  });
  out.push(axisLines(plot, ys(0)));
  return finish(out);
}

/**
 * HdrHistogram-style latency percentile plot: x = percentile on a log scale of 1/(1-q) with ticks 0%, 90%, 99%,
 * 99.9%, 99.99%, 99.999% (those within range); y = latency in ms (linear). Each series' `quantile(q)` (q in 0–1)
 * returns microseconds, or NaN when there is nothing to report; it is sampled at ~100 points up to `maxPercentile`
 * (default 99.99, must be in (0, 100)).
 */
export function percentileChart(options: {
  title: string;
  series: readonly { name: string; quantile: (q: number) => number /* returns microseconds */ }[];
  maxPercentile?: number /* default 99.99 */;
  width?: number;
  height?: number;
}): string {
  const maxPercentile = options.maxPercentile ?? 99.99;
  if (!(maxPercentile > 0 && maxPercentile < 100)) throw new RangeError(`maxPercentile must be in (0, 100): ${maxPercentile}`);
  const span = Math.log10(100 / (100 - maxPercentile)); // decades of 1/(1-q) to cover
  const samples = 100;
  const series = options.series.map((s) => ({
    name: s.name,
    points: Array.from({ length: samples + 1 }, (_, i) => {
      // x is computed directly as a power of ten, not as 1/(1-q), so the last sample lands exactly on its tick.
      const x = 10 ** ((span * i) / samples);
      return [x, s.quantile(1 - 1 / x) / 1000] as const;
    }),
  }));
  // One tick per decade: 0% at x=1, then 90%, 99%, 99.9%, ... as far as the data reaches.
  const xTicks: Tick[] = [{ value: 1, label: '0%' }];
  for (let k = 1; k <= Math.max(5, Math.ceil(span)); k++) xTicks.push({ value: 10 ** k, label: `${(100 - 100 / 10 ** k).toFixed(Math.max(0, k - 2))}%` });
  return lineChart({
    title: options.title, xLabel: 'Percentile', yLabel: 'Latency (ms)', series, xScale: 'log', xTicks,
    width: options.width, height: options.height,
  });
}
