/** Turns bench/results/push.json into the `push` section of BENCHMARKS.md; every figure comes from the run. */
import { describeMachine } from '../lib/machine.ts';
import { fmt, ms, ratio, table } from '../lib/markdown.ts';
import type { Comparison, PushBenchResult, SideResult } from './results.ts';

export const BENCHMARKS_INTRO = `# Benchmarks

Measurements of actorgate on the machine named in each section, written by the benchmark itself: every figure below
comes from the run whose command and date head its section, and the raw numbers are in \`bench/results/\`. Re-run the
command to get figures for your machine; a shared or small machine gives noisy absolute numbers, so read the ratios of
the two sides of a comparison (always measured in the same run) rather than the absolute values.
`;

const TRANSPORT = { grpc: 'gRPC PushStream', rest: 'REST (HTTP/1.1 JSON)' } as const;

/** The design notes' expectations, which the report measures against. */
const HYPOTHESIS = { cpuSavingPercent: [40, 60], throughput: [2, 3], olderThroughput: 14 } as const;

function place(value: number, [low, high]: readonly [number, number]): string {
  if (!Number.isFinite(value)) return 'not measurable';
  return value < low ? 'below the range' : value > high ? 'above the range' : 'within the range';
}

function labelOf(result: PushBenchResult, side: SideResult): string {
  return result.scenarios.find((s) => s.key === side.scenario)?.label ?? side.scenario;
}

/** Sides in reading order: scenario by scenario, gRPC first. */
function ordered(result: PushBenchResult): SideResult[] {
  return result.scenarios.flatMap((s) => (['grpc', 'rest'] as const).flatMap((t) => result.sides.filter((x) => x.scenario === s.key && x.transport === t)));
}

function resultsTable(result: PushBenchResult): string {
  const rows = ordered(result).map((side) => {
    const { figures: f, totals: t } = side;
    return [
      labelOf(result, side),
      TRANSPORT[side.transport],
      fmt(f.pushesPerSecond),
      fmt(f.deliveriesPerSecond),
      t.lost === 0 ? '0' : `${fmt(t.lost)} (${fmt((t.lost / t.expected) * 100, 2)}%)`,
      fmt(f.gatewayUsPerPush, 1),
      fmt(f.gatewayUsPerDelivery, 2),
      ms(f.latencyUs.p50),
      ms(f.latencyUs.p99),
      ms(f.latencyUs.p999),
    ];
  });
  return table(
    ['scenario', 'transport', 'pushes/s', 'deliveries/s', 'lost', 'gateway CPU µs/push', 'µs/delivery', 'p50 ms', 'p99 ms', 'p99.9 ms'],
    rows,
    ['left', 'left'],
  );
}

function withRounds(overall: number, perRound: number[]): string {
  return perRound.length > 1 ? `${ratio(overall)} (rounds: ${perRound.map((r) => ratio(r)).join(', ')})` : ratio(overall);
}

function ratioTable(comparisons: Comparison[]): string {
  const rows = comparisons.map((c) => [
    c.label,
    withRounds(c.pushesPerSecond, c.perRound.pushesPerSecond),
    withRounds(c.gatewayCpuPerPush, c.perRound.gatewayCpuPerPush),
    `${fmt(c.gatewayCpuSavingPercent, 0)}%`,
    ratio(c.p99),
  ]);
  return table(['scenario', 'pushes/s, gRPC ÷ REST', 'gateway CPU per push, gRPC ÷ REST', 'gateway CPU saved by gRPC', 'p99 latency, gRPC ÷ REST'], rows, ['left']);
}

function cpuTable(result: PushBenchResult): string {
  const rows = ordered(result).map((side) => {
    const f = side.figures;
    return [
      labelOf(result, side),
      TRANSPORT[side.transport],
      fmt(f.gatewayCores, 2),
      fmt(f.gatewayMainThreadCores, 2),
      fmt(f.gatewayOtherThreadsCores, 2),
      fmt(f.receiversCores, 2),
      fmt(f.receiversUsPerDelivery, 2),
      fmt(f.publisherCores, 2),
      fmt(f.publisherUsPerPush, 1),
      fmt(f.machineBusyCores, 2),
      fmt(f.machineStealCores, 2),
      fmt(Math.max(0, f.otherCores), 2),
    ];
  });
  return table(
    ['scenario', 'transport', 'gateway', 'its main thread', 'its other threads', 'receivers', 'receivers µs/delivery', 'publisher', 'publisher µs/push', 'machine busy', 'steal', 'other load'],
    rows,
    ['left', 'left'],
  );
}

/** Sentences on losses, limits and noise, from the measured figures. */
function observations(result: PushBenchResult): string[] {
  const cores = result.machine.cores;
  const notes: string[] = [];
  const sides = ordered(result);
  for (const side of sides) {
    const { figures: f, totals: t } = side;
    const what = `${labelOf(result, side)}, ${TRANSPORT[side.transport]}`;
    if (t.lost > 0 || t.dropped > 0 || t.failedCalls > 0) {
      notes.push(
        `${what}: ${fmt(t.lost)} of ${fmt(t.expected)} deliveries did not arrive; the gateway dropped ${fmt(t.dropped)} pushes ` +
          `(${fmt(t.overloaded)} as overloaded) and ${fmt(t.clientSendDropped)} client sends for full buffers; ${fmt(t.failedCalls)} calls failed.`,
      );
    }
    if (side.mode === 'max' && f.gatewayMainThreadCores >= 0.85) {
      notes.push(`${what}: the gateway's main thread (push ingress and routing) was busy ${fmt(f.gatewayMainThreadCores * 100, 0)}% of the time, which caps the push rate.`);
    }
    if (side.mode === 'max' && f.receiversCores >= 0.85) notes.push(`${what}: the receivers used ${fmt(f.receiversCores, 2)} cores, so the client side may have set the pace.`);
  }
  if (sides.every((s) => s.totals.lost === 0 && s.totals.dropped === 0 && s.totals.failedCalls === 0)) {
    notes.push('Nothing was lost: every accepted push reached all sessions, and no call failed.');
  }
  const max = sides.filter((s) => s.mode === 'max');
  const saturated = max.filter((s) => s.figures.machineBusyCores >= 0.9 * cores);
  if (saturated.length > 0) {
    const busy = saturated.map((s) => s.figures.machineBusyCores);
    const gateway = saturated.map((s) => s.figures.gatewayCores);
    notes.push(
      `${saturated.length === max.length ? 'In every as-fast-as-it-goes run' : `In ${saturated.length} of ${max.length} as-fast-as-it-goes runs`} the machine was saturated ` +
        `(${fmt(Math.min(...busy), 2)}–${fmt(Math.max(...busy), 2)} of ${cores} cores busy) and the gateway got ${fmt(Math.min(...gateway), 2)}–${fmt(Math.max(...gateway), 2)} cores of it; ` +
        'the publisher and the receivers took the rest, so these rates are what this machine does with its clients on board, not the gateway alone.',
    );
  }
  const fixed = sides.filter((s) => s.mode === 'fixed');
  const single = max.filter((s) => s.pushesPerCall === 1);
  if (fixed.length > 0 && single.length > 0) {
    const perDelivery = (list: SideResult[]) => list.map((s) => `${fmt(s.figures.gatewayUsPerDelivery, 2)} µs (${s.transport === 'grpc' ? 'gRPC' : 'REST'})`).join(' and ');
    notes.push(`Gateway CPU per delivery was ${perDelivery(fixed)} at the fixed rate, against ${perDelivery(single)} as fast as it goes with one push per call.`);
  }
  const noisy = result.rounds.filter((r) => r.figures.machineStealCores >= 0.05 || r.figures.otherCores >= 0.15);
  if (noisy.length > 0) {
    const worst = noisy.reduce((a, b) => (b.figures.otherCores + b.figures.machineStealCores > a.figures.otherCores + a.figures.machineStealCores ? b : a));
    const label = result.scenarios.find((s) => s.key === worst.scenario)?.label ?? worst.scenario;
    notes.push(
      `Other load: in ${noisy.length} of ${result.rounds.length} runs something outside the benchmark used CPU; the most was ` +
        `${fmt(worst.figures.otherCores, 2)} cores (steal ${fmt(worst.figures.machineStealCores, 2)}) during ${label}, ${TRANSPORT[worst.transport]}, round ${worst.round + 1}. ` +
        'The per-round ratios show how far such load moved the comparison.',
    );
  }
  notes.push(`With every session open and no pushes, the gateway used ${fmt(result.idleGatewayCores * 100, 1)}% of a core; the per-push figures include it.`);
  return notes;
}

/** gRPC's gateway CPU per push against REST's: "52% below REST's", "7% above REST's", "within 5% of REST's (1% below)". */
function againstRest(savingPercent: number): string {
  const exact = savingPercent >= 0 ? `${fmt(savingPercent, 0)}% below` : `${fmt(-savingPercent, 0)}% above`;
  return Math.abs(savingPercent) < 5 ? `within 5% of REST's (${exact})` : `${exact} REST's`;
}

function hypothesis(result: PushBenchResult): string {
  const fixed = result.comparisons.find((c) => c.scenario === 'fixed-rate');
  const max = result.comparisons.find((c) => c.scenario === 'max-1');
  const batch = result.comparisons.find((c) => c.scenario === 'max-batch');
  const parts: string[] = [];
  if (fixed !== undefined) {
    const saving = fixed.gatewayCpuSavingPercent;
    parts.push(
      `At ${fixed.label}, gRPC's gateway CPU per push was ${againstRest(saving)}; ` +
        `the design notes expect ${HYPOTHESIS.cpuSavingPercent[0]}–${HYPOTHESIS.cpuSavingPercent[1]}% less, so this is ${place(saving, HYPOTHESIS.cpuSavingPercent)}.`,
    );
  }
  if (max !== undefined) {
    const saving = max.gatewayCpuSavingPercent;
    parts.push(
      `As fast as it goes with one push per call, gRPC moved ${ratio(max.pushesPerSecond)} REST's pushes per second ` +
        `(the notes expect ${HYPOTHESIS.throughput[0]}–${HYPOTHESIS.throughput[1]}×: ${place(max.pushesPerSecond, HYPOTHESIS.throughput)}; ` +
        `the older claim of ${HYPOTHESIS.olderThroughput}× is ${max.pushesPerSecond >= HYPOTHESIS.olderThroughput ? 'matched' : 'not reproduced'}), ` +
        `with gateway CPU per push ${againstRest(saving)} (${place(saving, HYPOTHESIS.cpuSavingPercent)} of 40–60% less).`,
    );
  }
  if (batch !== undefined) {
    parts.push(
      `With ${batch.label.replace(/^as fast as it goes, /, '')}, gRPC ÷ REST is ${ratio(batch.pushesPerSecond)} in pushes per second and ` +
        `${ratio(batch.gatewayCpuPerPush)} in gateway CPU per push.`,
    );
  }
  const publisherCost = (key: string) => {
    const grpc = result.sides.find((s) => s.scenario === key && s.transport === 'grpc');
    const rest = result.sides.find((s) => s.scenario === key && s.transport === 'rest');
    return grpc && rest ? `${fmt(rest.figures.publisherUsPerPush, 0)} µs with REST and ${fmt(grpc.figures.publisherUsPerPush, 0)} µs with gRPC` : undefined;
  };
  const atFixed = publisherCost('fixed-rate');
  const atMax = publisherCost('max-1');
  if (atFixed !== undefined && atMax !== undefined) {
    parts.push(`Publisher CPU per push (the logic server's side of the call): ${atFixed} at the fixed rate; ${atMax} as fast as it goes.`);
  }
  return parts.join(' ');
}

export function renderMarkdown(result: PushBenchResult): string {
  const { setup, options } = result;
  const rounds = Number(options.rounds);
  return `## Push API: gRPC PushStream versus REST (HTTP/1.1 JSON), fan-out to ${setup.sessions} sessions

Measured with \`${result.command}\` on ${result.machine.date.slice(0, 10)} (${result.machine.date.slice(11, 16)} UTC), in ${fmt(result.durationSeconds)} s:
${describeMachine(result.machine)}. Raw numbers: \`${options.out}\`.

**Setup.** Three processes on this machine: the gateway (${setup.gatewayWorkers} workers), ${setup.sessions} WebSocket sessions
subscribed to one topic in a receiver process (${setup.sessionsPerWorker.join(' / ')} per worker), and the driver, which
is the publisher. Every push is a ${setup.payloadBytes}-byte payload to that topic, so one push is ${setup.sessions} deliveries.
**gRPC**: one \`PushStream\` per run, one \`PushBatch\` per call (grpc-js, with its per-call retry buffer off so that
writes are paced by HTTP/2 flow control from the first one; see \`bench/push/publishers.ts\`). **REST**:
\`POST /v1/push\` on the admin port, a JSON body with base64 payloads, HTTP/1.1 keep-alive over ${setup.restConnections} connections
(node:http). **Fixed rate**: open loop; each call is due at a fixed time and stamped with it, so latency counts any stall
(no coordinated omission). **As fast as it goes**: closed loop; REST keeps one request in flight per connection, gRPC
${setup.grpcWindow} stream writes; latency runs from the actual send. Each run: ${options.warmupSeconds} s warm-up, then
${options.fixedSeconds} s (fixed rate) or ${options.maxSeconds} s (as fast as it goes) measured; ${rounds > 1 ? `${rounds} rounds per scenario, the two
sides alternating (gRPC, REST, REST, gRPC, …), summed` : 'one round per scenario'}.

How to read the figures: *pushes/s* is measured pushes the gateway accepted per second of sending. The CPU window runs
from the first measured send until the last measured push has reached every session; *deliveries/s* and the CPU figures
are over that window, and *gateway CPU per push* is the gateway process's user + system time (all threads, from
\`/proc\`) divided by the pushes delivered in it. Latency is publisher → gateway → receiving client on one machine.

${resultsTable(result)}

**gRPC versus REST**, same run, same gateway:

${ratioTable(result.comparisons)}

**Where the CPU went**, in cores busy over the CPU window (1.00 = one core; the machine has ${result.machine.cores}):

${cpuTable(result)}

**Against the design notes.** ${hypothesis(result)}

${observations(result)
  .map((n) => `- ${n}`)
  .join('\n')}

Latency in the as-fast-as-it-goes rows is latency under saturation: it mostly measures how much each transport lets
queue up (Little's law), so compare the fixed-rate latencies between transports, not those.
`;
}

/** The terminal summary: the two main tables. */
export function renderSummary(result: PushBenchResult): string {
  return `${resultsTable(result)}\n\n${ratioTable(result.comparisons)}`;
}
