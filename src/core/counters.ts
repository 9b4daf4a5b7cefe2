/**
 * Hot-path counters in shared memory: each worker increments plain Float64Array slots (exact to 2^53, no atomics
 * needed with one writer) and the supervisor reads them when /metrics is scraped. The buffer is owned by the
 * supervisor and survives a worker restart, so totals stay monotonic.
 */

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
  /** refused client messages, by reason (RefuseReason offsets) */
  REFUSED_BASE: 16,
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
] as const;
export type RefuseReason = (typeof RefuseReasons)[number];

export const Refuse: { readonly [K in RefuseReason as Uppercase<K>]: number } = Object.freeze(
  Object.fromEntries(RefuseReasons.map((reason, i) => [reason.toUpperCase(), WorkerSlot.REFUSED_BASE + i])),
) as never;

export const WORKER_SLOTS = WorkerSlot.REFUSED_BASE + RefuseReasons.length;

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
  /** batches lost because the stream failed while they were being written */
  DROPPED_IN_FLIGHT: 8,
  NOTIFY_FAILURES: 9,
} as const;
export const ENDPOINT_SLOTS = 10;

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
