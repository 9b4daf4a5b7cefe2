/** W3C trace context counters per worker (src/tracing/): what was traced, and backend trace contexts ignored. */
import { Counter, type Registry } from 'prom-client';
import { TracingSlot } from '../core/counters.ts';
import type { WorkerHandle } from '../supervisor/worker-handle.ts';
import type { PerWorker } from './auth-metrics.ts';

export function registerTracingMetrics(registry: Registry, handles: readonly WorkerHandle[], perWorker: PerWorker): void {
  perWorker(
    'counter',
    'actorgate_trace_contexts_total',
    "Client TRACE_CONTEXT messages taken, each for its session's next DATA.",
    TracingSlot.TRACE_CONTEXTS,
  );
  new Counter({
    name: 'actorgate_traced_messages_total',
    help:
      'Messages carrying W3C trace context: forward, client DATA sent with a traceparent (sampled by ' +
      'tracing.sampleRatio or asked for by TRACE_CONTEXT); delivery, backend packets with a valid traceparent.',
    labelNames: ['worker', 'direction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const h of handles) {
        this.inc({ worker: h.index, direction: 'forward' }, h.counters.worker[TracingSlot.FORWARD_TRACED]!);
        this.inc({ worker: h.index, direction: 'delivery' }, h.counters.worker[TracingSlot.DELIVERY_TRACED]!);
      }
    },
  });
  new Counter({
    name: 'actorgate_spans_total',
    help:
      'Spans ended with tracing.otlpEndpoint set, by outcome: exported (the collector accepted them), failed ' +
      '(refused, or not reached in time), dropped (tracing.maxQueueSpans were waiting for export).',
    labelNames: ['worker', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const h of handles) {
        const slots = h.counters.worker;
        this.inc({ worker: h.index, outcome: 'exported' }, slots[TracingSlot.SPANS_EXPORTED]!);
        this.inc({ worker: h.index, outcome: 'failed' }, slots[TracingSlot.SPANS_FAILED]!);
        this.inc({ worker: h.index, outcome: 'dropped' }, slots[TracingSlot.SPANS_DROPPED]!);
      }
    },
  });
  perWorker(
    'counter',
    'actorgate_traceparent_invalid_total',
    'Backend packets whose traceparent was not a valid W3C version-00 value: ignored (the packet delivered untraced).',
    TracingSlot.TRACEPARENT_INVALID,
  );
}
