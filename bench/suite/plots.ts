/** The suite's SVG plots, drawn from a run's figures (bench/results/suite.json) and linked from BENCHMARKS.md. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogHistogram } from '../lib/histogram.ts';
import { fmt } from '../lib/markdown.ts';
import { barChart, lineChart, percentileChart } from '../lib/svg-chart.ts';
import { label, lat, refLat, size, tp, type SuiteResult } from './report-data.ts';
import { TARGETS } from './rig.ts';
import type { LatencyResult } from './scenarios.ts';

/** The SVG files, written into `dir`; returns their paths. */
export function writePlots(result: SuiteResult, dir: string): string[] {
  const files: [string, string][] = [];
  const payloads = [...new Set(result.throughput.map((r) => r.payloadBytes))];
  files.push([
    'suite-throughput.svg',
    barChart({
      title: 'Round trips per second (closed loop), by payload',
      yLabel: 'round trips / s',
      groups: payloads.map(size),
      series: TARGETS.map((t) => ({ name: t.label, values: payloads.map((p) => tp(result, t.key, p)?.rate) })),
    }),
  ]);
  const at50 = TARGETS.map((t) => lat(result, t.key, 0.5)).filter((r): r is LatencyResult => r !== undefined);
  const echoRef = refLat(result, 'uws-echo', 0.5);
  files.push([
    'suite-latency.svg',
    percentileChart({
      title: `Round-trip latency at 50% of each target's max (open loop, ${size(result.settings.latencyPayload)})`,
      series: [
        ...at50.map((r) => ({ name: `${label(r.target)}, ${fmt(r.requestedRate)}/s`, quantile: (q: number) => LogHistogram.from(r.histogram).quantile(q) })),
        ...(echoRef ? [{ name: `bare uWS echo at actorgate's rate, ${fmt(echoRef.requestedRate)}/s`, quantile: (q: number) => LogHistogram.from(echoRef.histogram).quantile(q) }] : []),
      ],
      maxPercentile: 99.9,
    }),
  ]);
  files.push([
    'suite-latency-rates.svg',
    lineChart({
      title: `p99 round-trip latency against offered rate (open loop, ${size(result.settings.latencyPayload)})`,
      xLabel: 'offered rate (messages / s)',
      yLabel: 'p99 (ms)',
      xScale: 'log',
      series: TARGETS.map((t) => ({
        name: t.label,
        points: result.latency
          .filter((r) => r.target === t.key)
          .sort((a, b) => a.requestedRate - b.requestedRate)
          .map((r) => [r.requestedRate, r.latency.p99 / 1000] as const),
      })),
      markers: true,
    }),
  ]);
  files.push([
    'suite-isolation.svg',
    percentileChart({
      title: 'Latency to healthy backend A, with backend B healthy and stalled',
      series: result.isolation.flatMap((h) =>
        (['healthy', 'stalled'] as const).map((condition) => ({
          name: `${label(h.target)}, B ${condition}`,
          quantile: (q: number) => LogHistogram.from(h[condition].histogram).quantile(q),
        })),
      ),
      maxPercentile: 99.9,
    }),
  ]);
  files.push([
    'suite-memory.svg',
    lineChart({
      title: 'Resident memory with idle connections',
      xLabel: 'open connections',
      yLabel: 'RSS (MiB)',
      series: result.memory.map((m) => ({ name: label(m.target), points: m.points.map((p) => [p.connections, p.rssBytes / 2 ** 20] as const) })),
      markers: true,
    }),
  ]);
  return files.map(([name, svg]) => {
    const path = join(dir, name);
    writeFileSync(path, svg);
    return path;
  });
}

