/**
 * The option types of what an operator watches the gateway with: the access log and tracing. Their own file to keep
 * options-types.ts short; it re-exports them, and each field's TSDoc `@default` is read by the options test like
 * those of options-types.ts.
 */

/** The access log: one JSON line per session at its close (README, "Access log"), on its own destination. */
export interface AccessLogOptions {
  /**
   * `stdout`, `stderr`, or a file path (appended to; created if missing; reopened once rotated away).
   * @default off (null)
   */
  destination: string | null;
  /**
   * Lines one worker holds, waiting or being written, while the destination is slower than sessions close; past it
   * lines are dropped and counted (`actorgate_access_log_dropped_total`); a crashing worker loses at most these.
   * @default 10000
   */
  maxBufferLines: number;
  /** How often a worker writes the lines it holds (at once when 256 wait). @default 200 */
  flushIntervalMs: number;
}

/** W3C trace context on backend streams and OpenTelemetry spans (docs/PROTOCOL.md and README, "Tracing"). */
export interface TracingOptions {
  /**
   * The share of client DATA messages (and, when exporting, of connections and untraced backend DATA) that are traced:
   * their packet carries a `traceparent`. 0 to 1. A client's TRACE_CONTEXT traces its next DATA whatever this is.
   * @default 0
   */
  sampleRatio: number;
  /**
   * Where each worker exports its spans over OTLP/gRPC: `http://collector:4317` (plaintext) or `https://…` (TLS).
   * Without it no span is made and the OpenTelemetry SDK is not even loaded; trace context is still propagated.
   * @default none (no export)
   */
  otlpEndpoint: string | null;
  /** gRPC metadata sent with every export, as `name=value` (an API key of a hosted collector). @default [] */
  otlpHeaders: string[];
  /** The resource's `service.name`. @default 'actorgate' */
  serviceName: string;
  /** A worker exports its ended spans this often (and when a batch of 512 is ready). @default 1000 */
  exportIntervalMs: number;
  /** Ended spans one worker holds for export; past it new spans are dropped (the SDK's bounded queue). @default 4096 */
  maxQueueSpans: number;
}
