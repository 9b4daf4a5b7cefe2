/** Turns a suite run (bench/results/suite.json) into SVG plots and the `suite` section of BENCHMARKS.md; every figure comes from the run. */
import { describeMachine } from '../lib/machine.ts';
import { fmt, ms, ratio, ratioOf, table } from '../lib/markdown.ts';
import { TARGETS } from './rig.ts';
import { findings, goals } from './report-goals.ts';
import { floorTable, latenessSection } from './report-instrument.ts';
import { scalingSection } from './report-scaling.ts';
import { breakdownSection } from './report-breakdown.ts';
import { whyMissed } from './report-why.ts';
import { fairnessSection } from './report-fairness.ts';
import { renderPushScale } from './report-push-scale.ts';
import { label, lat, size, tp, type SuiteResult } from './report-data.ts';
import type { LatencyResult, RunFigures } from './scenarios.ts';

export function errorsText(f: RunFigures): string {
  const parts = Object.entries(f.errors).map(([code, n]) => `${fmt(n)}×${code}`);
  if (f.unanswered > 0) parts.push(`${fmt(f.unanswered)} unanswered`);
  if (f.outOfOrder > 0) parts.push(`${fmt(f.outOfOrder)} out of order`);
  if (f.clientBehind > 0) parts.push(`${fmt(f.clientBehind)} not sent (client behind)`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

function throughputTable(result: SuiteResult): string {
  const rows: string[][] = [];
  for (const payload of [...new Set(result.throughput.map((r) => r.payloadBytes))]) {
    const echo = tp(result, 'uws-echo', payload);
    const naive = tp(result, 'naive', payload);
    const floor = tp(result, 'floor', payload);
    for (const key of TARGETS.map((t) => t.key)) {
      const r = tp(result, key, payload);
      if (r === undefined) continue;
      rows.push([
        size(payload),
        label(key),
        fmt(r.rate),
        ratioOf(r.rate, echo?.rate),
        ratioOf(r.rate, naive?.rate),
        ratioOf(r.rate, floor?.rate),
        fmt(r.targetUsPerMessage, 2),
        ratioOf(r.targetUsPerMessage, echo?.targetUsPerMessage),
        ratioOf(r.targetUsPerMessage, naive?.targetUsPerMessage),
        ratioOf(r.targetUsPerMessage, floor?.targetUsPerMessage),
        fmt(r.cpu.target, 2),
        `${fmt(r.cpu.loadgen, 2)} (${fmt(r.cpu.loadgenBusiestThread, 2)})`,
        fmt(r.cpu.backend, 2),
        fmt(r.cpu.machine, 2),
        ms(r.latency.p99),
        errorsText(r),
      ]);
    }
  }
  return table(
    ['payload', 'target', 'round trips/s', '÷ bare echo', '÷ naive', '÷ floor', 'target CPU µs/msg', '÷ bare echo', '÷ naive', '÷ floor', 'target cores', 'client cores (busiest thread)', 'backend cores', 'machine busy', 'p99 ms (closed loop)', 'refused / lost'],
    rows,
    ['left', 'left'],
  );
}

function latencyTable(result: SuiteResult): string {
  // Ratios compare runs at the same fraction of each target's own maximum (the reference run: at the same rate).
  const same = (key: string, r: LatencyResult) =>
    r.fraction === null ? undefined : lat(result, key, r.fraction);
  const rows = result.latency.map((r) => [
    label(r.target),
    r.fraction === null ? `actorgate’s ${(r.referenceFraction ?? 0.5) * 100}%` : `${r.fraction * 100}% of its max`,
    fmt(r.requestedRate),
    fmt(r.rate),
    ms(r.latency.p50),
    ms(r.latency.p99),
    ratioOf(r.latency.p99, same('uws-echo', r)?.latency.p99),
    ratioOf(r.latency.p99, same('naive', r)?.latency.p99),
    ratioOf(r.latency.p99, same('floor', r)?.latency.p99),
    ms(r.latency.p999),
    ms(r.latency.max),
    r.sendLateness === undefined ? '–' : `${ms(r.sendLateness.p50, 3)} / ${ms(r.sendLateness.p99, 3)} / ${ms(r.sendLateness.max)}`,
    r.pollInterval === undefined ? '–' : `${ms(r.pollInterval.p99, 3)} / ${ms(r.pollInterval.max)}`,
    r.loadgenStalledShare === undefined ? '–' : `${fmt(r.loadgenStalledShare * 100, 1)}%`,
    fmt(r.cpu.loadgen, 2),
    fmt(r.cpu.steal, 2),
    fmt(r.targetUsPerMessage, 2),
    fmt(r.cpu.target, 2),
    errorsText(r),
  ]);
  return table(
    ['target', 'rate', 'due msg/s', 'achieved msg/s', 'p50 ms', 'p99 ms', 'p99 ÷ bare echo’s at the same fraction', 'p99 ÷ naive’s at the same fraction', 'p99 ÷ floor’s at the same fraction', 'p99.9 ms', 'max ms', 'client send lateness p50 / p99 / max ms', result.loadgen?.generator === 'native' ? 'client wake-up lateness p99 / max ms' : 'client poll interval p99 / max ms', 'client threads stalled', 'client cores', 'steal cores', 'target CPU µs/msg', 'target cores', 'refused / lost'],
    rows,
    ['left', 'left'],
  );
}

function isolationTable(result: SuiteResult): string {
  const rows = result.isolation.flatMap((h) =>
    h.runs.map((run, i) => [
      label(h.target),
      `${Math.floor(i / 2) + 1}`,
      run.stalled ? 'stalled' : 'healthy',
      fmt(h.aRate),
      ms(run.latency.p50),
      ms(run.latency.p99),
      ms(run.latency.p999),
      errorsText(run),
      `${fmt(run.bSent)} sent, ${fmt(run.bEchoed)} echoed, ${Object.entries(run.bErrors).map(([c, n]) => `${fmt(n)}×${c}`).join(', ') || 'none refused'}`,
      run.bMailboxDepth === null ? '–' : fmt(run.bMailboxDepth),
      `${fmt(run.rssBeforeBytes / 2 ** 20, 0)} → ${fmt(run.rssAfterBytes / 2 ** 20, 0)}`,
    ]),
  );
  const t = table(
    ['target', 'round', 'backend B', 'msg/s to A', 'A p50 ms', 'A p99 ms', 'A p99.9 ms', 'A refused / lost', 'to B (measured window)', 'B mailbox at end', 'RSS MiB'],
    rows,
    ['left', 'left', 'left'],
  );
  const ratios = result.isolation
    .map((h) => `${label(h.target)}: **${ratio(h.ratio)}** (pooled p99 ${ms(h.stalled.latency.p99)} ÷ ${ms(h.healthy.latency.p99)} ms; by round: ${h.roundRatios.map((r) => ratio(r)).join(', ')})`)
    .join('; ');
  return `${t}\n\nIsolation ratio (A's p99 with B stalled ÷ with B healthy, runs of each condition pooled): ${ratios}.`;
}

function memoryTable(result: SuiteResult): string {
  const steps = result.memory[0]?.points.map((p) => p.connections) ?? [];
  const per = (key: string) => result.memory.find((m) => m.target === key)?.bytesPerConnection;
  const rows = result.memory.map((m) => [
    label(m.target),
    ...m.points.map((p) => fmt(p.rssBytes / 2 ** 20, 1)),
    fmt(m.bytesPerConnection),
    ratioOf(m.bytesPerConnection, per('uws-echo')),
    ratioOf(m.bytesPerConnection, per('naive')),
    m.kernelBytesPerConnection === undefined ? '–' : fmt(m.kernelBytesPerConnection),
    m.points.at(-1)?.kernelBytes === undefined ? '–' : `${fmt(m.points.at(-1)!.kernelBytes! / 2 ** 20, 1)} MiB, ${fmt(m.points.at(-1)!.tcpInuse)} sockets`,
    m.failed > 0 ? `${fmt(m.failed)} failed (${m.firstError ?? '?'})` : 'none',
  ]);
  return table(['target', ...steps.map((n) => `RSS MiB at ${fmt(n)}`), 'bytes per connection (slope)', '÷ bare echo', '÷ naive', 'kernel socket bytes per connection (slope, both ends)', 'kernel TCP memory at the last step', 'failed connects'], rows, ['left']);
}

function wakeupSection(result: SuiteResult): string {
  const w = result.wakeup;
  const ag = lat(result, 'actorgate-2', 0.25);
  const t = table(
    ['one event-loop turn (1 ms timer)', 'main-thread CPU µs per turn'],
    [
      ['does nothing', fmt(w.idleTurnUs, 1)],
      [`writes one ${w.packetsPerBatch}-packet PacketBatch on a grpc-js stream and reads its echo`, fmt(w.grpcTurnUs, 1)],
    ],
    ['left'],
  );
  const share =
    ag === undefined
      ? ''
      : ` At 25% of its maximum (${fmt(ag.requestedRate)} msg/s, each message sent at its own due time) actorgate with 2 ` +
        `workers used ${fmt(ag.cpu.target, 2)} cores: ${fmt(ag.targetUsPerMessage, 1)} µs per message, against ` +
        `${fmt(tp(result, 'actorgate-2', result.settings.latencyPayload)?.targetUsPerMessage, 1)} µs at saturation, where batches are large.`;
  return `### What an event-loop turn costs here

Measured in its own process, on its main thread.${share}

${t}`;
}

function profileSection(result: SuiteResult): string {
  const p = result.profile;
  if (p === null) return '';
  const s = p.summary;
  const cats = table(
    ['category', 'ms', 'share of busy time'],
    s.byCategory.map((c) => [c.category, fmt(c.ms), `${fmt(c.share * 100, 1)}%`]),
    ['left'],
  );
  const top = table(
    ['function', 'where', 'category', 'self ms', 'share'],
    s.top.map((f) => [f.functionName, `\`${f.location}\``, f.category, fmt(f.selfMs), `${fmt(f.share * 100, 1)}%`]),
    ['left', 'left', 'left'],
  );
  const threads = s.threads
    .filter((t) => t.busyMs > 0.05 * s.busyMs)
    .map((t) => {
      // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main thread.
      const tid = /\.(\d+)\.\d+\.cpuprofile$/.exec(t.file)?.[1] ?? '?';
      return `thread ${tid}${tid === '0' ? ' (main)' : ''}: ${fmt(t.busyMs)} ms busy`;
    })
    .join('; ');
  return `### Where actorgate's time goes

A CPU profile (\`node --cpu-prof\`, every thread) of actorgate with 2 workers, running from \`dist/\`, over the
process's whole life: start-up, connecting, ${p.seconds} s of closed-loop ${size(p.payloadBytes)} load (warm-up
included), and shutdown; the load is most of it. ${fmt(s.busyMs)} ms of CPU were
sampled over all threads (${threads}).

${cats}

The 15 functions with the most self time. uWS's native work has no frame of its own: a \`send\` or \`cork\` shows
as self time of the JavaScript function that called it, and its event loop as \`(program)\`.

${top}`;
}

export function renderSuite(result: SuiteResult, plots: readonly string[]): string {
  const s = result.settings;
  const goalRows = goals(result);
  const link = (name: string) => plots.find((p) => p.endsWith(name));
  const img = (name: string, alt: string) => (link(name) ? `![${alt}](${link(name)})` : '');
  const windows = Object.entries(s.windows).map(([bytes, w]) => `${w} at ${size(Number(bytes))}`).join(', ');
  return `## Gateway suite: actorgate against a bare uWS echo, a floor relay and a naive gateway

Measured with \`${result.command}\` on ${result.machine.date.slice(0, 10)} (${result.machine.date.slice(11, 16)} UTC), in
${fmt(result.durationSeconds)} s: ${describeMachine(result.machine)}. Raw numbers: \`bench/results/suite.json\`.

**Setup.** Everything runs on this one machine, each in its own process so that /proc gives each its own CPU time:
the target; the load generator (${result.loadgenThreads} threads, raw WebSocket clients that send from preallocated
frames and parse replies in place); and two echo backends, A and B (grpc-js \`GameGateway\` servers, each in its own process).
The targets: **bare uWS echo**, one uWebSockets.js thread that sends every message back (\`bench/reference/uws-echo.ts\`),
the ceiling for WebSocket handling in Node; **naive gateway**, what a user would write instead: \`ws\`, one grpc-js
stream per backend, one write per message, no mailboxes (\`bench/reference/naive-gateway.ts\`); **floor relay**, the leanest
relay uWS and grpc-js allow: one uWS thread, one stream per backend with actorgate's PacketBatch codec, one batch per
loop turn, no actors, no checks (\`bench/reference/floor-relay.ts\`; throughput, latency and CPU only); **actorgate** with 1
and 2 workers, from \`dist/\`. Every message is client → target → backend A → target → client, except through the
bare echo, which answers itself. Each run: ${s.warmupMs / 1000} s warm-up, ${s.measureMs / 1000} s measured.
Throughput is a closed loop over ${s.connections} connections (messages in flight per connection: ${windows}).
Latency is an open loop over the same connections at fixed rates: each message is due at a fixed time and stamped
with it, so a stall anywhere counts (no coordinated omission); percentiles from a log-linear (HDR-style) histogram.
*Target CPU* is the target process's user + system time, all threads, from /proc, over the measured window.

### Against the design targets

${table(['goal', 'measured', 'target', 'verdict'], goalRows.map((g) => [g.name, g.measured, g.goal, g.verdict]), ['left', 'left', 'left', 'left'])}

${findings(result).map((f) => `- ${f}`).join('\n')}

${whyMissed(result).length === 0 ? '' : `Why the missed targets were missed, from the same run:\n\n${whyMissed(result).map((f) => `- ${f}`).join('\n')}`}

### Round-trip throughput

${throughputTable(result)}

${img('suite-throughput.svg', 'round trips per second by payload and target')}

${scalingSection(result)}

### Against the floor relay

${floorTable(result)}

### Latency at fixed rates (open loop, ${size(s.latencyPayload)})

${latencyTable(result)}

${latenessSection(result)}

${breakdownSection(result)}

${img('suite-latency.svg', 'latency percentiles at 50% of each maximum')}

${img('suite-latency-rates.svg', 'p99 latency against offered rate')}

### Head-of-line isolation

Two backends: A keeps reading, B stops reading its streams (a wedged backend). ${s.holConnections.a} connections send
${size(s.holPayload)} messages to A at ${s.holLoad * 100}% of the target's closed-loop maximum at that size, and
${s.holConnections.b} send to B at a tenth of that rate. Each round has one run with B healthy and one with B stalled
from before its warm-up (the order alternates by round); a run is long enough for B's traffic to fill the HTTP/2
windows and socket buffers and then, in actorgate, B's mailboxes.

${isolationTable(result)}

${img('suite-isolation.svg', 'latency to A with B healthy and stalled')}

${fairnessSection(result)}

### Memory per idle connection

Idle connections opened in steps (no traffic but the gateway's pings) up to about the most one process holds here
(the target's limit on open files: ${[...new Set(result.memory.map((m) => m.openFilesLimit))].map((n) => fmt(n)).join(', ')}), each target run with \`node --no-memory-reducer\` (V8 otherwise hands
heap back at moments of its own choosing, by more than a step of connections adds). Before the baseline, 1,000 connections are opened and closed
(start-up garbage and first-use allocations are not per-connection costs); after each step, RSS is read once it has
stopped moving (three readings half a second apart within 0.25 MiB). The slope is the least-squares fit over the
steps with connections open: V8 hands start-up memory back to the system when it chooses, often between the empty
baseline and the first step, so the baseline is shown but not fitted. RSS counts user-space memory only; the
kernel's socket memory is read beside it from /proc/net/sockstat (TCP \`mem\`, in pages) at each step and fitted the
same way. On loopback both ends of every connection are this machine's, so it is the client's and the target's
sockets together; idle sockets hold almost no buffer memory, so this figure is small until traffic fills buffers.

${memoryTable(result)}

${img('suite-memory.svg', 'RSS against open connections')}

${renderPushScale(result.pushScale)}

${wakeupSection(result)}

${profileSection(result)}`;
}
