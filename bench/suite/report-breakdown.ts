/** The "where a light-load p99 goes" subsection: actorgate's stage histograms, loop delay and GC beside its end-to-end figures. */
import { fmt, ms, table } from '../lib/markdown.ts';
import type { WindowHistogram } from './breakdown.ts';
import { label, refLat, type SuiteResult } from './report-data.ts';
import type { LatencyResult } from './scenarios.ts';

const p50p99 = (h: WindowHistogram | null | undefined) => (h === null || h === undefined || h.count === 0 ? '–' : `${ms(h.p50Us, 3)} / ${ms(h.p99Us, 3)}`);
const over1ms = (h: WindowHistogram) => (h.count === 0 ? '–' : `${fmt(h.over1msShare * 100, 2)}%`);

function gcText(run: LatencyResult): string {
  const workers = run.breakdown!.workers;
  if (workers.every((w) => w.gcMinor === null)) return '–';
  const minor = workers.reduce((a, w) => a + (w.gcMinor?.count ?? 0), 0);
  const minorMs = workers.reduce((a, w) => a + (w.gcMinor?.sum ?? 0), 0) * 1000;
  const major = workers.reduce((a, w) => a + (w.gcMajor?.count ?? 0), 0);
  const longest = Math.max(...workers.map((w) => w.gcMinor?.p99Us ?? 0));
  return `${fmt(minor)} minor (${fmt(minorMs, 1)} ms, p99 ${ms(longest, 2)} ms), ${fmt(major)} major`;
}

export function breakdownSection(result: SuiteResult): string {
  const runs = result.latency.filter((r) => r.breakdown !== undefined && r.fraction !== null);
  if (runs.length === 0) return '';
  const rows = runs.map((r) => {
    const b = r.breakdown!;
    const echo = refLat(result, 'uws-echo', r.fraction!);
    const loop = b.workers.map((w) => `${w.worker}: ${ms(w.loopDelay.p99Us, 2)}`).join(', ');
    return [
      label(r.target),
      `${r.fraction! * 100}% (${fmt(r.requestedRate)}/s)`,
      `${ms(r.latency.p50, 3)} / ${ms(r.latency.p99, 3)}`,
      echo === undefined ? '–' : `${ms(echo.latency.p50, 3)} / ${ms(echo.latency.p99, 3)}`,
      p50p99(b.queue),
      over1ms(b.queue),
      p50p99(b.write),
      over1ms(b.write),
      p50p99(b.delivery),
      over1ms(b.delivery),
      fmt(b.queue.count + b.delivery.count),
      loop,
      gcText(r),
      `${ms(b.backendLoopDelay.p99Us, 3)} / ${ms(b.backendLoopDelay.maxUs, 2)}`,
    ];
  });
  const t = table(
    [
      'target',
      'load (of its max)',
      'end to end p50 / p99 ms',
      'bare echo at the same rate p50 / p99 ms',
      'queue p50 / p99 ms',
      'queue > 1 ms',
      'write p50 / p99 ms',
      'write > 1 ms',
      'delivery p50 / p99 ms',
      'delivery > 1 ms',
      'stage samples',
      'worker loop delay p99 ms',
      'worker GC pauses in the run',
      'backend A loop delay p99 / max ms',
    ],
    rows,
    ['left', 'left'],
  );
  return `### Where a light-load message's p99 goes

Read from actorgate itself during the open-loop runs above: its /metrics is scraped before and after each run
(warm-up and drain included) and the histograms are differenced. *Queue*: the worker's handler takes a client message
→ its stream actor takes it into a batch (checks, mailbox wait). *Write*: the batch handed to grpc-js → grpc-js
reports it written. *Delivery*: a backend batch arrives on the stream → its packet is handed to the client's socket.
The stages are sampled (1 message in \`metrics.stageSampleEvery\`, 64) and bucketed (25 µs to 1 s; a quantile is
interpolated within its bucket), so a stage's p99 is good to its bucket's width. What the stages do not cover is the
client's and the backend's sockets, the kernel, the backend's loop (its own delay is the last column: how late a 1 ms
timer ran in backend A's process) and the wait of a client message before the worker's handler runs, which the
worker's event-loop delay bounds (a 10 ms timer, actorgate_worker_event_loop_delay_seconds).

${t}`;
}
