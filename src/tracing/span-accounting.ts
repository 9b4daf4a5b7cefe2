/**
 * What becomes of a worker's ended spans, counted: exported, failed (the collector refused them or could not be
 * reached), or dropped because the export queue was full. The SDK's BatchSpanProcessor drops past its bound without
 * telling anyone, so the exporter is wrapped to know how many spans the processor has handed over, and the processor
 * to know how many it was given: their difference is its queue, and a span ended while the queue is full is counted
 * here and never reaches the processor (the SDK would have dropped it the same way).
 */
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import { TracingSlot } from '../core/counters.ts';

/** ExportResultCode.SUCCESS of @opentelemetry/core (the exporter's result type). */
const EXPORT_SUCCESS = 0;

export class CountingExporter implements SpanExporter {
  /** Spans the processor has taken out of its queue so far. */
  handedOver = 0;
  readonly #inner: SpanExporter;
  readonly #counters: Float64Array;

  constructor(inner: SpanExporter, counters: Float64Array) {
    this.#inner = inner;
    this.#counters = counters;
  }

  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.handedOver += spans.length;
    this.#inner.export(spans, (result) => {
      const slot = result.code === EXPORT_SUCCESS ? TracingSlot.SPANS_EXPORTED : TracingSlot.SPANS_FAILED;
      this.#counters[slot] += spans.length;
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

export class BoundedProcessor implements SpanProcessor {
  readonly #inner: SpanProcessor;
  readonly #exporter: CountingExporter;
  readonly #maxQueue: number;
  readonly #counters: Float64Array;
  #given = 0;

  constructor(inner: SpanProcessor, exporter: CountingExporter, maxQueue: number, counters: Float64Array) {
    this.#inner = inner;
    this.#exporter = exporter;
    this.#maxQueue = maxQueue;
    this.#counters = counters;
  }

  onStart(span: Span, parentContext: Context): void {
    this.#inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (this.#given - this.#exporter.handedOver >= this.#maxQueue) {
      this.#counters[TracingSlot.SPANS_DROPPED]++;
      return;
    }
    this.#given++;
    this.#inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}
