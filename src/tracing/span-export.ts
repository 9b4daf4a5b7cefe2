/**
 * The spans of one worker, exported over OTLP/gRPC: its own tracer provider, batch span processor and exporter, since
 * spans are made where the session lives and a worker thread shares no objects. The only module that imports the
 * OpenTelemetry SDK; it is loaded (load-tracing.ts) only with `tracing.otlpEndpoint` set.
 *
 * Spans (docs/PROTOCOL.md, "Tracing"):
 * - `actorgate.connection` (SERVER): a sampled session, from its open to its close, with the close code and reason;
 * - `actorgate.forward` (PRODUCER): a traced client DATA, from its frame's arrival to grpc-js reporting its batch
 *   written, with the events `mailbox.out` (its stream actor took it into a batch) and `grpc.written`;
 * - `actorgate.deliver` (CONSUMER): a backend DATA, from its batch's arrival to its client send, a child of the
 *   backend's span when the packet carried a traceparent.
 *
 * The gateway samples itself (TraceSampler), so the SDK's sampler records every span it is asked for.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Context, Span, SpanContext, Tracer } from '@opentelemetry/api';
import { Metadata } from '@grpc/grpc-js';
import { AlwaysOnSampler, BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { PacketProbe } from '../backend/packet-probe.ts';
import type { StreamPacket } from '../backend/stream-packet.ts';
import type { Logger } from '../core/logger.ts';
import { otlpHeaderMap } from '../core/options-tracing.ts';
import type { Session } from '../worker/session.ts';
import { formatTraceparent, type TraceIds } from './traceparent.ts';
import { BoundedProcessor, CountingExporter } from './span-accounting.ts';
import type { ForwardSpan, SpanExport, TracingConfig } from './worker-tracing.ts';

// Not yet in the stable semantic conventions; the incubating name.
const ATTR_USER_ID = 'user.id';
const ATTR_SESSION_ID = 'actorgate.session.id';
const ATTR_WORKER = 'actorgate.worker';
const ATTR_MSG_ID = 'actorgate.msg_id';
const ATTR_SERVER_ID = 'actorgate.server_id';
const ATTR_CLOSE_CODE = 'actorgate.close.code';
const ATTR_CLOSE_REASON = 'actorgate.close.reason';
/** An export's own deadline; a close cuts it shorter (shutdown.flushTimeoutMs). */
const EXPORT_TIMEOUT_MS = 10_000;

export class OtlpSpanExport implements SpanExport {
  readonly #provider: TracerProvider;
  readonly #tracer: Tracer;
  readonly #worker: number;
  readonly #logger: Logger;
  #closed: Promise<void> | undefined;

  constructor(config: TracingConfig, gateName: string, worker: number, logger: Logger, counters: Float64Array) {
    this.#worker = worker;
    this.#logger = logger;
    const metadata = new Metadata();
    for (const [name, value] of Object.entries(otlpHeaderMap(config.otlpHeaders))) metadata.set(name, value);
    const otlp = new OTLPTraceExporter({ url: config.otlpEndpoint!, metadata, timeoutMillis: EXPORT_TIMEOUT_MS });
    const exporter = new CountingExporter(otlp, counters);
    this.#provider = new TracerProvider({
      sampler: new AlwaysOnSampler(),
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: config.serviceName,
        [ATTR_SERVICE_INSTANCE_ID]: gateName,
      }),
      spanProcessors: [
        new BoundedProcessor(
          new BatchSpanProcessor({
            exporter,
            maxQueueSize: config.maxQueueSpans,
            maxExportBatchSize: Math.min(512, config.maxQueueSpans),
            scheduledDelayMillis: config.exportIntervalMs,
            exportTimeoutMillis: EXPORT_TIMEOUT_MS,
          }),
          exporter,
          config.maxQueueSpans,
          counters,
        ),
      ],
    });
    this.#tracer = this.#provider.getTracer('actorgate');
  }

  forward(parent: TraceIds | undefined, session: Session, packet: StreamPacket, startAt: number): ForwardSpan {
    const span = this.#tracer.startSpan(
      'actorgate.forward',
      {
        kind: SpanKind.PRODUCER,
        startTime: startAt,
        attributes: { [ATTR_SESSION_ID]: session.id, [ATTR_MSG_ID]: packet.msgId, [ATTR_SERVER_ID]: packet.serverId },
      },
      parentContext(parent),
    );
    const own = span.spanContext();
    return { span, traceparent: formatTraceparent(own.traceId, own.spanId, own.traceFlags) };
  }

  refused(span: unknown, reason: string): void {
    const forward = span as Span;
    forward.setStatus({ code: SpanStatusCode.ERROR, message: reason });
    forward.end();
  }

  mailboxOut(probe: PacketProbe, at: number): void {
    (probe.trace as Span).addEvent('mailbox.out', at);
  }

  written(probe: PacketProbe, at: number, ok: boolean): void {
    const span = probe.trace as Span;
    if (ok) span.addEvent('grpc.written', at);
    else span.setStatus({ code: SpanStatusCode.ERROR, message: 'backend stream failed while the batch was written' });
    span.end(at);
  }

  delivery(parent: TraceIds | undefined, session: Session, packet: StreamPacket, arrivedAt: number): void {
    this.#tracer
      .startSpan(
        'actorgate.deliver',
        {
          kind: SpanKind.CONSUMER,
          startTime: arrivedAt,
          attributes: { [ATTR_SESSION_ID]: session.id, [ATTR_MSG_ID]: packet.msgId, [ATTR_SERVER_ID]: packet.serverId },
        },
        parentContext(parent),
      )
      .end();
  }

  connectionOpened(session: Session): unknown {
    return this.#tracer.startSpan('actorgate.connection', {
      kind: SpanKind.SERVER,
      attributes: {
        [ATTR_CLIENT_ADDRESS]: session.remoteAddress,
        [ATTR_URL_PATH]: session.path,
        [ATTR_WORKER]: this.#worker,
        [ATTR_SESSION_ID]: session.id,
      },
    });
  }

  connectionClosed(span: unknown, session: Session, code: number, reason: string): void {
    const connection = span as Span;
    // The user may be bound after the open (a token's, or a backend's BIND_USER): as of the close.
    if (session.userId !== undefined) connection.setAttribute(ATTR_USER_ID, session.userId);
    connection.setAttribute(ATTR_CLOSE_CODE, code);
    if (reason !== '') connection.setAttribute(ATTR_CLOSE_REASON, reason);
    // Codes 4500–4999 tell the client not to retry (docs/PROTOCOL.md §4): the session ended on an error.
    if (code >= 4500 && code <= 4999) {
      connection.setAttribute(ATTR_ERROR_TYPE, String(code));
      connection.setStatus({ code: SpanStatusCode.ERROR, message: reason });
    }
    connection.end();
  }

  close(timeoutMs: number): Promise<void> {
    this.#closed ??= this.#shutdown(timeoutMs);
    return this.#closed;
  }

  destroy(): void {
    void this.close(0);
  }

  /** Shutdown flushes the queue; past the deadline the spans still queued are lost, and said so once. */
  async #shutdown(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, 'late');
      timer.unref();
    });
    try {
      const result = await Promise.race([this.#provider.shutdown().then(() => 'done' as const), deadline]);
      if (result === 'late') {
        this.#logger.warn({ timeoutMs }, 'tracing: spans not exported within shutdown.flushTimeoutMs were dropped');
      }
    } catch (err) {
      this.#logger.warn({ err: String(err) }, 'tracing: the last span export failed');
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A context received from elsewhere (the client or the backend) as the parent of a span; none: a new trace. */
function parentContext(ids: TraceIds | undefined): Context {
  if (ids === undefined) return ROOT_CONTEXT;
  const remote: SpanContext = { traceId: ids.traceId, spanId: ids.spanId, traceFlags: ids.flags, isRemote: true };
  return trace.setSpanContext(ROOT_CONTEXT, remote);
}
