/**
 * Hot-path counters in shared memory: each worker increments plain Float64Array slots (exact to 2^53, no atomics
 * needed with one writer) and the supervisor reads them when /metrics is scraped. The buffer is owned by the
 * supervisor and survives a worker restart, so totals stay monotonic.
 */
import { histogramSlots } from './histogram-slots.ts';

/** Per-worker slots. Gauges are marked; everything else is a monotonic total. */
export const WorkerSlot = {
  /** gauge */
  SESSIONS: 0,
  SESSIONS_OPENED: 1,
  SESSIONS_CLOSED: 2,
  FRAMES_IN: 3,
  FRAMES_OUT: 4,
  BYTES_IN: 5,
  BYTES_OUT: 6,
  UPGRADES_REFUSED: 7,
  /** messages to a client dropped because its send buffer was full */
  CLIENT_SEND_DROPPED: 8,
  HEARTBEATS: 9,
  VIOLATION_CLOSES: 10,
  /** backend → gateway packets for a session this worker does not hold */
  UNKNOWN_SESSION: 11,
  SUBSCRIPTIONS: 12,
  SUBSCRIBE_REFUSED: 13,
  /** backend → gateway packets that cannot be framed (payload > 65535 bytes, msgId > 65535): dropped */
  BACKEND_PACKET_INVALID: 14,
  /** gauge: sessions whose send buffer overflowed and has not drained yet */
  SLOW_SESSIONS: 15,
  SLOW_CONSUMER_CLOSES: 16,
  IDLE_CLOSES: 17,
  /** gauge: the largest send buffer (bytes) seen on any session of the worker after a send that queued */
  PEAK_CLIENT_BUFFER: 18,
  /** pushes (from the push API or Redis) that reached at least one local session */
  PUSH_DELIVERED: 19,
  /** sessions reached by pushes */
  PUSH_SESSIONS_REACHED: 20,
  /** pushes that reached no local session (unknown session, user or topic) */
  PUSH_NO_TARGET: 21,
  REDIS_RECEIVED: 22,
  /** Redis messages that were not valid envelopes */
  REDIS_INVALID: 23,
  /** log lines the worker's logger dropped: its bounded buffer was full (logger.ts) */
  LOG_DROPPED: 24,
  /** refused client messages, by reason (RefuseReason offsets) */
  REFUSED_BASE: 25,
} as const;

/** Why a client message was refused; the label on actorgate_client_messages_refused_total. */
export const RefuseReasons = [
  'malformed',
  'length_mismatch',
  'too_large',
  'text_frame',
  'unknown_control',
  'no_route',
  'backend_overloaded',
  'backend_unavailable',
  'rate_limited',
  'user_rate_limited',
  'route_rate_limited',
  'session_overloaded',
] as const;
export type RefuseReason = (typeof RefuseReasons)[number];

export const Refuse: { readonly [K in RefuseReason as Uppercase<K>]: number } = Object.freeze(
  Object.fromEntries(RefuseReasons.map((reason, i) => [reason.toUpperCase(), WorkerSlot.REFUSED_BASE + i])),
) as never;

/** Why an upgrade or a REFRESH was refused for authentication; the label on actorgate_auth_refused_total. */
export const AuthRefusals = ['missing', 'invalid', 'expired', 'busy', 'unavailable', 'denied'] as const;
export type AuthRefusal = (typeof AuthRefusals)[number];
/** A REFRESH's outcome: accepted, or the refusal's reason; the label on actorgate_auth_refresh_total. */
export const RefreshOutcomes = ['ok', ...AuthRefusals] as const;

const AUTH_BASE = WorkerSlot.REFUSED_BASE + RefuseReasons.length;

/** Per-worker authentication slots, after the refused-message block. */
export const AuthSlot = {
  /** upgrades whose token verified */
  ACCEPTED: AUTH_BASE,
  /** gauge: verifications in flight (upgrades and REFRESH) */
  PENDING: AUTH_BASE + 1,
  /** upgrades whose client went away while its token was being verified */
  ABORTED: AUTH_BASE + 2,
  /** sessions closed with TOKEN_EXPIRED */
  EXPIRED_CLOSES: AUTH_BASE + 3,
  /** upgrades refused, by AuthRefusals offset */
  REFUSED_BASE: AUTH_BASE + 4,
  /** REFRESH messages, by RefreshOutcomes offset */
  REFRESH_BASE: AUTH_BASE + 4 + AuthRefusals.length,
} as const;

/** Why an upgrade was refused by a limit or the request's form; the label on actorgate_upgrade_refusals_total. */
export const UpgradeRefusals = [
  'not_accepting',
  'worker_connections',
  'connections',
  'ip_connections',
  'upgrade_rate',
  'ip_upgrade_rate',
  'url_too_long',
  'headers_too_large',
  'subprotocol',
  'user_connections',
  'user_limit_unavailable',
] as const;
export type UpgradeRefusal = (typeof UpgradeRefusals)[number];

const LIMIT_BASE = AuthSlot.REFRESH_BASE + RefreshOutcomes.length;

/** Per-worker slots of the connection and rate limits, after the authentication block. */
export const LimitSlot = {
  /** sessions closed with RATE_LIMIT_EXCEEDED */
  RATE_LIMIT_CLOSES: LIMIT_BASE,
  /** TCP connections closed with 408 HANDSHAKE_TIMEOUT */
  HANDSHAKE_TIMEOUTS: LIMIT_BASE + 1,
  /** per-user connection checks in Redis that failed or missed their deadline (admitted uncounted when failing open) */
  USER_CHECK_FAILURES: LIMIT_BASE + 2,
  /** upgrades refused, by UpgradeRefusals offset */
  UPGRADE_REFUSED_BASE: LIMIT_BASE + 3,
} as const;

/**
 * Upper bounds (seconds) of the worker event-loop delay histogram (actorgate_worker_event_loop_delay_seconds); a
 * sample past the last counts only in +Inf.
 */
export const LOOP_DELAY_BOUNDS_SECONDS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;

const LOOP_DELAY_BASE = LimitSlot.UPGRADE_REFUSED_BASE + UpgradeRefusals.length;

/** The worker's event-loop delay histogram (src/worker/loop-delay.ts; histogram-slots.ts layout), after the limits block. */
export const LoopDelaySlot = {
  BASE: LOOP_DELAY_BASE,
} as const;

/**
 * Upper bounds (seconds) of the worker GC pause histograms (actorgate_worker_gc_seconds). Finer at the bottom than the
 * loop delay's 0.5 ms: a scavenge takes from about 0.2 ms (few survivors) to several ms, and whether scavenges account
 * for a light-load p99 of about a millisecond is the question these buckets answer, so 0.1–2 ms needs several. Up to
 * 1 s for a full collection of a large old generation; a pause past it counts only in +Inf.
 */
export const GC_BOUNDS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] as const;
const GC_HISTOGRAM_SLOTS = histogramSlots(GC_BOUNDS_SECONDS);
const GC_BASE = LoopDelaySlot.BASE + histogramSlots(LOOP_DELAY_BOUNDS_SECONDS);

/** The worker's GC pause histograms by kind (src/worker/gc-pauses.ts; histogram-slots.ts layout), after the loop-delay block. */
export const GcSlot = {
  /** scavenges (young generation) */
  MINOR: GC_BASE,
  /** mark-sweep-compact, incremental marking, weak callbacks (old generation) */
  MAJOR: GC_BASE + GC_HISTOGRAM_SLOTS,
} as const;

const REDIS_BASE = GcSlot.MAJOR + GC_HISTOGRAM_SLOTS;

/** A worker's Redis pub/sub path as its probes see it (src/control/redis-health.ts); the RedisSlot.HEALTH gauge's index. */
export const RedisHealthStates = ['ok', 'degraded', 'disconnected'] as const;
export type RedisHealthState = (typeof RedisHealthStates)[number];

/** Per-worker slots of the Redis subscriber's self-check, after the GC block. */
export const RedisSlot = {
  /** gauge: RedisHealthStates index */
  HEALTH: REDIS_BASE,
  /** probes published on the worker's own session channel that did not come back within redis.healthCheckMs */
  PROBES_MISSED: REDIS_BASE + 1,
  /** times the worker replaced its Redis connections after a missed probe (or, on a cluster, a lost cluster) */
  RECONNECTS: REDIS_BASE + 2,
  /** gauge: round trip of the last probe that came back, seconds */
  PROBE_RTT: REDIS_BASE + 3,
} as const;

const ACCESS_LOG_BASE = RedisSlot.PROBE_RTT + 1;

/** Per-worker slots of the access log (src/worker/access-log.ts), after the Redis block. */
export const AccessLogSlot = {
  /** lines written to the destination */
  WRITTEN: ACCESS_LOG_BASE,
  /** lines dropped: the worker's buffer (accessLog.maxBufferLines) was full, or their write failed */
  DROPPED: ACCESS_LOG_BASE + 1,
} as const;

/** Per-worker slots of a drain (src/worker/drain-schedule.ts), after the access-log block. */
export const DrainSlot = {
  /** sessions the gateway closed with DRAINED: at their time in the window, or at the drain's deadline */
  CLOSES: AccessLogSlot.DROPPED + 1,
} as const;

const TRACING_BASE = DrainSlot.CLOSES + 1;

/** Per-worker slots of W3C trace context (src/tracing/), after the drain block. */
export const TracingSlot = {
  /** client TRACE_CONTEXT messages taken (each for the session's next DATA) */
  TRACE_CONTEXTS: TRACING_BASE,
  /** client DATA forwarded with a traceparent (sampled by tracing.sampleRatio, or asked for by TRACE_CONTEXT) */
  FORWARD_TRACED: TRACING_BASE + 1,
  /** backend packets whose traceparent was valid (their delivery is linked to it) */
  DELIVERY_TRACED: TRACING_BASE + 2,
  /** backend packets whose traceparent was not a valid W3C version-00 one: ignored */
  TRACEPARENT_INVALID: TRACING_BASE + 3,
  /** spans the collector accepted (tracing.otlpEndpoint) */
  SPANS_EXPORTED: TRACING_BASE + 4,
  /** spans whose export failed: the collector refused them or could not be reached in time */
  SPANS_FAILED: TRACING_BASE + 5,
  /** spans dropped at their end: tracing.maxQueueSpans spans were waiting for export */
  SPANS_DROPPED: TRACING_BASE + 6,
} as const;

/**
 * Upper bounds (seconds) of the sampled stage-latency histograms (actorgate_stage_*_seconds, stage-probes.ts), fine
 * enough for the sub-millisecond times of a healthy gateway; a sample past the last counts only in +Inf.
 */
export const STAGE_BOUNDS_SECONDS = [
  0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
] as const;
/** Slots of one stage histogram (histogram-slots.ts layout: sum, then one slot per bucket). */
export const STAGE_HISTOGRAM_SLOTS = histogramSlots(STAGE_BOUNDS_SECONDS);

/** Per-worker stage histogram (histogram-slots.ts layout), after the tracing block. */
export const StageSlot = {
  /** push API in (main thread) → client send (this worker) */
  PUSH: TracingSlot.SPANS_DROPPED + 1,
} as const;

export const WORKER_SLOTS = StageSlot.PUSH + STAGE_HISTOGRAM_SLOTS;

/** Per-(worker, endpoint) slots. */
export const EndpointSlot = {
  /** gauge: DATA packets queued */
  MAILBOX_DEPTH: 0,
  PACKETS_SENT: 1,
  BATCHES_SENT: 2,
  PACKETS_RECEIVED: 3,
  /** DATA refused because the mailbox was full */
  MAILBOX_REJECTED: 4,
  /** gauge: StreamState index (see stream-state.ts) */
  STREAM_STATE: 5,
  STREAM_FAILURES: 6,
  /** packets discarded when the stream actor was destroyed with a non-empty mailbox */
  DROPPED_ON_DESTROY: 7,
  /** packets at risk (maybe not delivered) because the stream failed while their batch was being written */
  DROPPED_IN_FLIGHT: 8,
  NOTIFY_FAILURES: 9,
  /** queued DATA dropped with BACKEND_EXPIRED (older than maxQueueAgeMs while the stream was down) */
  EXPIRED: 10,
  /** writes pending past writeStallMs (each period counts once) */
  WRITE_STALLS: 11,
  /** gauge: CircuitState index (circuit-breaker.ts) */
  CIRCUIT_STATE: 12,
  CIRCUIT_OPENED: 13,
  /** client messages refused fast with BACKEND_UNAVAILABLE (circuit open, or actor closing) */
  UNAVAILABLE: 14,
  /** sessions moved off this endpoint after it stayed down past failoverAfterMs */
  FAILOVERS: 15,
  CIRCUIT_HALF_OPENED: 16,
  /** closes, each from half-open (a probe or write that got through) */
  CIRCUIT_CLOSED: 17,
  /** gauge: the most DATA packets the mailbox has held since the gateway started (≤ mailboxCapacity) */
  MAILBOX_PEAK: 18,
  /** gauge: serialized bytes of the batch written into grpc-js and not yet reported written (0 when none) */
  IN_FLIGHT_BYTES: 19,
  /** gauge: the largest IN_FLIGHT_BYTES since the gateway started */
  IN_FLIGHT_BYTES_PEAK: 20,
  /** DATA refused because its session held its share of the mailbox (backend.maxQueuedPerSession) */
  SESSION_SHARE_REJECTED: 21,
} as const;

/** Per-(worker, endpoint) stage histograms (histogram-slots.ts layout), after the endpoint block. */
export const EndpointStageSlot = {
  /** client frame in → the stream actor takes it into a batch */
  QUEUE: EndpointSlot.SESSION_SHARE_REJECTED + 1,
  /** batch written into grpc-js → its write callback */
  WRITE: EndpointSlot.SESSION_SHARE_REJECTED + 1 + STAGE_HISTOGRAM_SLOTS,
  /** backend batch in → client send */
  DELIVERY: EndpointSlot.SESSION_SHARE_REJECTED + 1 + 2 * STAGE_HISTOGRAM_SLOTS,
} as const;
export const ENDPOINT_SLOTS = EndpointStageSlot.DELIVERY + STAGE_HISTOGRAM_SLOTS;

/** The shared buffer of one worker: WORKER_SLOTS, then ENDPOINT_SLOTS per configured endpoint. */
export function createCounterBuffer(endpoints: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT * (WORKER_SLOTS + ENDPOINT_SLOTS * endpoints));
}

export class WorkerCounters {
  readonly worker: Float64Array;
  readonly #buffer: SharedArrayBuffer;

  constructor(buffer: SharedArrayBuffer) {
    this.#buffer = buffer;
    this.worker = new Float64Array(buffer, 0, WORKER_SLOTS);
  }

  /** The slots of one endpoint (its index in endpointsOf(config)). */
  endpoint(index: number): Float64Array {
    return new Float64Array(this.#buffer, Float64Array.BYTES_PER_ELEMENT * (WORKER_SLOTS + ENDPOINT_SLOTS * index), ENDPOINT_SLOTS);
  }
}
