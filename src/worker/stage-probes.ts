/**
 * Where a worker's time goes: the sampled stage-latency histograms (actorgate_stage_*_seconds), kept in the shared
 * counters (histogram-slots.ts layout) and read at scrape time like the event-loop delay.
 *
 * - queue: a client frame's arrival in `WorkerActor.onMessage` → its stream actor taking it into a batch;
 * - write: that batch handed to grpc-js → grpc-js's write callback (HTTP/2 flow control let it through);
 * - delivery: a backend batch's arrival on the stream → the client send of a DATA packet from it;
 * - push: the push API taking a push on the main thread → its client send in this worker (push-delivery.ts).
 *
 * One message in `metrics.stageSampleEvery` is timed: countdowns, so an unsampled message costs a decrement and a
 * compare and reads no clock. A sampled client message carries a PacketProbe (packet-probe.ts) through its stream
 * actor, which reports it to its endpoint's `EndpointStages`, the ProbeSink of this file.
 *
 * The same probes carry traced messages: the tracer creates probes with `stage` false for the messages it traces,
 * sets `trace`, and sets `StageProbes.tracer` once per worker; every endpoint's sink then passes it each probe whose
 * `trace` is set. A histogram counts only probes with `stage` true, so tracing never skews the histograms.
 */
import { EndpointStageSlot, STAGE_BOUNDS_SECONDS, StageSlot } from '../core/counters.ts';
import { observe } from '../core/histogram-slots.ts';
import type { PacketProbe, ProbeSink } from '../backend/packet-probe.ts';

/** What the tracer hears of the probes it set `trace` on (the ProbeSink's events, at the same moments). */
export interface ProbeTracer {
  mailboxOut(probe: PacketProbe, at: number): void;
  written(probe: PacketProbe, at: number, ok: boolean): void;
}

/** A countdown that never reaches 0: sampling off. */
const OFF = Infinity;

/** One worker's stage sampling: the countdowns, the per-worker push histogram, and a sink per endpoint. */
export class StageProbes {
  /** Set by the tracer (null: nothing traced); every endpoint's sink reads it. */
  tracer: ProbeTracer | null = null;
  readonly #every: number;
  #messages: number;
  #deliveries: number;

  /** @param every `metrics.stageSampleEvery`: time 1 in this many; 0: off */
  constructor(every: number) {
    this.#every = every === 0 ? OFF : every;
    this.#messages = this.#every;
    this.#deliveries = this.#every;
  }

  /** The sink of one endpoint, recording into its counter slots. */
  sink(counters: Float64Array): EndpointStages {
    return new EndpointStages(this, counters);
  }

  /** Called once per client message on its arrival: a probe for the one message in N, else null. */
  take(): PacketProbe | null {
    if (--this.#messages !== 0) return null;
    this.#messages = this.#every;
    return { inAt: performance.now(), stage: true, trace: null };
  }

  /**
   * At a backend batch's arrival: the time, when one of its next `packets` sends is due to be timed; else 0 (no
   * clock read). Sends only count down, at most one per packet, so 0 means none of this batch is due.
   */
  arrival(packets: number): number {
    return this.#deliveries <= packets ? performance.now() : 0;
  }

  /** A backend DATA packet was handed to its client's socket: counts down; times the due one from `arrivedAt`. */
  sent(stages: EndpointStages | undefined, arrivedAt: number): void {
    if (--this.#deliveries !== 0) return;
    this.#deliveries = this.#every;
    if (stages !== undefined && arrivedAt !== 0) stages.delivered(arrivedAt, performance.now());
  }
}

/**
 * The ProbeSink of one endpoint. The write stage runs from the probes' `mailboxOut` to their `written`: a stream keeps
 * one batch in flight, so the latest `mailboxOut` time is the write time of the batch being reported.
 */
export class EndpointStages implements ProbeSink {
  readonly #probes: StageProbes;
  readonly #counters: Float64Array;
  #writeAt = 0;

  constructor(probes: StageProbes, counters: Float64Array) {
    this.#probes = probes;
    this.#counters = counters;
  }

  mailboxOut(probe: PacketProbe, at: number): void {
    this.#writeAt = at;
    if (probe.stage) observe(this.#counters, EndpointStageSlot.QUEUE, STAGE_BOUNDS_SECONDS, seconds(at - probe.inAt));
    if (probe.trace !== null) this.#probes.tracer?.mailboxOut(probe, at);
  }

  /** A failed write is no write time: only the tracer hears of it. */
  written(probe: PacketProbe, at: number, ok: boolean): void {
    if (probe.stage && ok) {
      observe(this.#counters, EndpointStageSlot.WRITE, STAGE_BOUNDS_SECONDS, seconds(at - this.#writeAt));
    }
    if (probe.trace !== null) this.#probes.tracer?.written(probe, at, ok);
  }

  delivered(arrivedAt: number, at: number): void {
    observe(this.#counters, EndpointStageSlot.DELIVERY, STAGE_BOUNDS_SECONDS, seconds(at - arrivedAt));
  }
}

/** performance.timeOrigin + performance.now(): milliseconds that compare across threads (each has its own origin). */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** A sampled push (its `receivedAt` from epochNow() on the main thread) reached a client of this worker. */
export function observePush(workerCounters: Float64Array, receivedAt: number): void {
  observe(workerCounters, StageSlot.PUSH, STAGE_BOUNDS_SECONDS, seconds(epochNow() - receivedAt));
}

/** Milliseconds to seconds; two threads' origins can disagree by a little, never below 0. */
function seconds(ms: number): number {
  return ms > 0 ? ms / 1000 : 0;
}
