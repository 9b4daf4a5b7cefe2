/**
 * For each missed target, what the same run's figures say about why: sentences built from the figures only, so
 * they change with the run. Interpretation that the figures cannot carry is left out.
 */
import { fmt, ms, ratio } from '../lib/markdown.ts';
import { lat, refLat, size, tp, type SuiteResult } from './report-data.ts';
import { GOALS } from './report-goals.ts';

export function whyMissed(result: SuiteResult): string[] {
  const out: string[] = [];
  const p = result.settings.latencyPayload;
  const ag = tp(result, 'actorgate-2', p);
  const echo = tp(result, 'uws-echo', p);
  const floor = tp(result, 'floor', p);
  if (ag && echo && floor && ag.rate / echo.rate < GOALS.rateVsEcho) {
    out.push(
      `Round trips ÷ the bare echo: every actorgate message crosses a gRPC stream to a backend on the same 2 cores ` +
        `(the backends used ${fmt(ag.cpu.backend, 2)} cores), which the echo never does. The floor relay, which has the same hop ` +
        `and none of actorgate's duties, reached ${ratio(floor.rate / echo.rate)} the echo's rate; actorgate reached ${ratio(ag.rate / floor.rate)} the floor's ` +
        `with ${ratio(ag.targetUsPerMessage / floor.targetUsPerMessage)} its CPU per message (${fmt(ag.targetUsPerMessage, 2)} vs ${fmt(floor.targetUsPerMessage, 2)} µs).`,
    );
  }
  if (ag && echo && floor && ag.targetUsPerMessage / echo.targetUsPerMessage > GOALS.cpuVsEcho) {
    out.push(
      `CPU per message ÷ the bare echo: the floor relay's is ${ratio(floor.targetUsPerMessage / echo.targetUsPerMessage)} the echo's, so the gRPC hop alone ` +
        `is past the ${ratio(GOALS.cpuVsEcho, 1)} target; what actorgate adds on top of it is the ÷ floor figure above.`,
    );
  }
  for (const { fraction, us } of GOALS.addedP99Us) {
    const mine = lat(result, 'actorgate-2', fraction);
    const same = refLat(result, 'uws-echo', fraction);
    if (mine === undefined || same === undefined || mine.latency.p99 - same.latency.p99 <= us) continue;
    const b = mine.breakdown;
    const saturated = tp(result, 'actorgate-2', p)?.targetUsPerMessage;
    let text =
      `p99 added at ${fraction * 100}% (${fmt(mine.requestedRate)} msg/s): actorgate used ${fmt(mine.targetUsPerMessage, 1)} µs of CPU per message there against ` +
      `${fmt(saturated, 2)} µs at saturation (below saturation fewer messages share a loop turn, and a turn with a gRPC write costs ` +
      `${fmt(result.wakeup.grpcTurnUs, 0)} µs here: "What an event-loop turn costs here"), so the machine was ${fmt(mine.cpu.machine, 2)} of ` +
      `${result.machine.cores} cores busy (in the bare echo's run at the same rate: ${fmt(same.cpu.machine, 2)}) and a message that arrives then waits for a core.`;
    if (b !== undefined) {
      const loop = Math.max(...b.workers.map((w) => w.loopDelay.p99Us));
      const gcCount = b.workers.reduce((a, w) => a + (w.gcMinor?.count ?? 0) + (w.gcMajor?.count ?? 0), 0);
      const gcMs = b.workers.reduce((a, w) => a + (w.gcMinor?.sum ?? 0) + (w.gcMajor?.sum ?? 0), 0) * 1000;
      text +=
        ` Inside the gateway the stages' p99 were ${ms(b.queue.p99Us, 2)} (queue), ${ms(b.write.p99Us, 2)} (write) and ${ms(b.delivery.p99Us, 2)} ms ` +
        `(delivery); a worker's loop ran up to ${ms(loop, 1)} ms late at p99, and the workers paused ${fmt(gcCount)} times for GC ` +
        `(${fmt(gcMs, 1)} ms in all) over the run; backend A's own loop ran ${ms(b.backendLoopDelay.p99Us, 1)} ms late at p99.`;
    }
    if (mine.sendLateness !== undefined) {
      text += ` The load generator itself sent ${ms(mine.sendLateness.p99, 2)} ms late at p99 in this run (${ms(same.sendLateness?.p99, 2)} ms in the echo's).`;
    }
    out.push(text);
  }
  const hol = result.isolation.find((h) => h.target === 'actorgate-2');
  if (hol !== undefined && hol.ratio > GOALS.isolation) {
    const p99s = (stalled: boolean) => hol.runs.filter((r) => r.stalled === stalled).map((r) => r.latency.p99);
    const range = (xs: number[]) => `${ms(Math.min(...xs))}–${ms(Math.max(...xs))} ms`;
    const bRefused = hol.runs.filter((r) => r.stalled).reduce((n, r) => n + Object.values(r.bErrors).reduce((a, b) => a + b, 0), 0);
    out.push(
      `Isolation: at this load A's p99 was already ${range(p99s(false))} with B healthy and ${range(p99s(true))} with B stalled; ` +
        `with B stalled the gateway also held B's mailbox full and refused ${fmt(bRefused)} of B's messages over the stalled runs, ` +
        `work the healthy runs did not have.`,
    );
  }
  const fair = result.fairness?.find((f) => f.target === 'actorgate-2');
  if (fair !== undefined && fair.ratio > 1.1) {
    out.push(
      `Fairness: the flooder's share of the mailbox bounds what waits in the gateway (${fmt(fair.settings.sessionShare)} messages per worker and endpoint), ` +
        `not what it has already written: once written, its batches wait FIFO in the stream's HTTP/2 window (the echo backend grants ` +
        `1 MiB, tens of thousands of ${size(fair.settings.payloadBytes)} messages) and the sockets, ahead of the quiet sessions' next messages, ` +
        `which the backend answers in stream order. The per-session rate limits (limits.messagesPerSecond, 1,000 by default, off in the suite) ` +
        `are what caps a flooder's rate below the backend's.`,
    );
  }
  return out;
}
