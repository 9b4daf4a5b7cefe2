/**
 * One worker's tracing: which client messages carry W3C trace context to their backend, what a backend's trace
 * context on its packets means, and, when `tracing.otlpEndpoint` is set, the spans (span-export.ts, loaded only then).
 *
 * - A client DATA is traced when its session sent TRACE_CONTEXT just before it (the context is taken by that DATA
 *   only) or when `tracing.sampleRatio` samples it. Its packet's `traceparent` names the gateway's forward span when
 *   exporting (a child of the client's context), and otherwise the client's ids as they are, or fresh ids.
 * - A backend packet's `traceparent` is parsed strictly: a valid one is counted and, when exporting, is the parent of
 *   the delivery span; an invalid one is counted and ignored.
 *
 * An untraced message costs one decrement and one comparison (TraceSampler) and an empty-string test on the way back.
 */
import { TracingSlot } from '../core/counters.ts';
import type { ResolvedConfig } from '../core/options-types.ts';
import type { StreamPacket } from '../backend/stream-packet.ts';
import type { ClientTraceContext } from '../protocol/control.ts';
import type { ProbeTracer } from '../worker/stage-probes.ts';
import type { Session } from '../worker/session.ts';
import { TraceSampler } from './trace-sampler.ts';
import { FLAG_SAMPLED, formatTraceparent, parseTraceparent, randomSpanId, randomTraceId } from './traceparent.ts';
import type { TraceIds } from './traceparent.ts';

export type TracingConfig = ResolvedConfig['tracing'];

/** What exporting adds: the spans. Implemented by span-export.ts, which alone imports the OpenTelemetry SDK. */
export interface SpanExport extends ProbeTracer {
  /** A forward span from `startAt` (performance.now()), a child of the client's context when it sent one. */
  forward(parent: TraceIds | undefined, session: Session, packet: StreamPacket, startAt: number): ForwardSpan;
  /** The forward span of a message refused before it reached a mailbox: ended now, as an error. */
  refused(span: unknown, reason: string): void;
  /** A delivery span from the batch's arrival to now, a child of the backend's context when its packet had one. */
  delivery(parent: TraceIds | undefined, session: Session, packet: StreamPacket, arrivedAt: number): void;
  connectionOpened(session: Session): unknown;
  connectionClosed(span: unknown, session: Session, code: number, reason: string): void;
  /** Exports what is queued and shuts the exporter down, waiting at most `timeoutMs`. */
  close(timeoutMs: number): Promise<void>;
  /** The fatal path: stop without waiting. */
  destroy(): void;
}

export interface ForwardSpan {
  readonly span: unknown;
  /** The span's own context, for the packet. */
  readonly traceparent: string;
}

export class WorkerTracing {
  /** Whether spans are made and exported (tracing.otlpEndpoint). */
  readonly exporting: boolean;
  /** What stage-probes.ts hands the probes this tracer set `trace` on; null without export (no spans to time). */
  readonly probeTracer: ProbeTracer | null;
  readonly #counters: Float64Array;
  readonly #messages: TraceSampler;
  readonly #deliveries: TraceSampler;
  readonly #connections: TraceSampler;
  readonly #spans: SpanExport | undefined;
  /** The context of the backend packet being delivered, between deliveryStart and deliveryEnd. */
  #deliveryParent: TraceIds | undefined = undefined;

  constructor(config: TracingConfig, counters: Float64Array, spans?: SpanExport) {
    this.#counters = counters;
    this.#spans = spans;
    this.exporting = spans !== undefined;
    this.probeTracer = spans ?? null;
    this.#messages = new TraceSampler(config.sampleRatio);
    this.#deliveries = new TraceSampler(spans === undefined ? 0 : config.sampleRatio);
    this.#connections = new TraceSampler(spans === undefined ? 0 : config.sampleRatio);
  }

  /** A client DATA about to be offered to its stream actor: traced when asked for or sampled. */
  forward(session: Session, packet: StreamPacket): void {
    const context = session.traceContext;
    if (context === undefined && !this.#messages.sample()) return;
    session.traceContext = undefined;
    this.#counters[TracingSlot.FORWARD_TRACED]++;
    const spans = this.#spans;
    if (spans === undefined) {
      packet.traceparent = context === undefined ? freshIds() : ownIds(context);
      return;
    }
    const at = packet.probe?.inAt ?? performance.now();
    const forward = spans.forward(context, session, packet, at);
    packet.traceparent = forward.traceparent;
    if (packet.probe === null) packet.probe = { inAt: at, stage: false, trace: forward.span };
    else packet.probe.trace = forward.span;
  }

  /** The traced packet was refused at the mailbox (full, or no stream): its span ends here. */
  refused(packet: StreamPacket, reason: string): void {
    const trace = packet.probe?.trace;
    if (trace !== null && trace !== undefined) this.#spans?.refused(trace, reason);
  }

  /**
   * A backend DATA for a client, before its send: reads its trace context (counted; an invalid one ignored). True when
   * a delivery span is to be made: exporting, and the packet had a valid context or the ratio sampled it.
   */
  deliveryStart(packet: StreamPacket): boolean {
    let parent: TraceIds | undefined;
    if (packet.traceparent !== '') {
      parent = parseTraceparent(packet.traceparent);
      this.#counters[parent === undefined ? TracingSlot.TRACEPARENT_INVALID : TracingSlot.DELIVERY_TRACED]++;
    }
    if (this.#spans === undefined) return false;
    this.#deliveryParent = parent;
    return parent !== undefined || this.#deliveries.sample();
  }

  /** After the send that deliveryStart returned true for. */
  deliveryEnd(session: Session, packet: StreamPacket, arrivedAt: number): void {
    this.#spans!.delivery(this.#deliveryParent, session, packet, arrivedAt);
    this.#deliveryParent = undefined;
  }

  opened(session: Session): void {
    if (this.#spans === undefined || !this.#connections.sample()) return;
    session.connectionSpan = this.#spans.connectionOpened(session);
  }

  closed(session: Session, code: number, reason: string): void {
    const span = session.connectionSpan;
    if (span === undefined) return;
    session.connectionSpan = undefined;
    this.#spans!.connectionClosed(span, session, code, reason);
  }

  /** Exports the spans still queued, within `timeoutMs`; nothing to do without export. */
  close(timeoutMs: number): Promise<void> {
    return this.#spans?.close(timeoutMs) ?? Promise.resolve();
  }

  destroy(): void {
    this.#spans?.destroy();
  }
}

/** The client's context passed on as it is: the gateway has no span of its own to put between. */
function ownIds(context: ClientTraceContext): string {
  return formatTraceparent(context.traceId, context.spanId, context.flags);
}

/** A sampled message without export: a trace of its own, named by fresh ids. */
function freshIds(): string {
  return formatTraceparent(randomTraceId(), randomSpanId(), FLAG_SAMPLED);
}
