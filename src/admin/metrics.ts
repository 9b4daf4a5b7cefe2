/**
 * Prometheus exposition. Nothing is counted here: at scrape time the collectors read the workers' shared counter
 * buffers (core/counters.ts), so the hot paths pay one array increment per event.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { EndpointSlot, LimitSlot, RedisSlot, RefuseReasons, UpgradeRefusals, WorkerSlot } from '../core/counters.ts';
import { registerRouteMetrics } from './route-metrics.ts';
import { droppedLogLines } from '../core/logger.ts';
import { StreamStates } from '../backend/stream-state.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import type { PushStats } from '../push/push-router.ts';
import { registerAuthMetrics } from './auth-metrics.ts';
import { API_KEY_REFUSALS, type ApiKeys } from '../core/api-keys.ts';
import { registerLoopDelayMetric } from './loop-delay-metric.ts';
import { registerGcMetric } from './gc-metric.ts';
import { registerStageMetrics } from './stage-metrics.ts';
import { registerDrainMetrics } from './drain-metrics.ts';
import { registerAccessLogMetrics } from './access-log-metrics.ts';
import { registerTracingMetrics } from './tracing-metrics.ts';

/** Counters are re-filled from the shared buffers at scrape time: reset, then inc by the current total. */
function fill(metric: Counter<string> | Gauge<string>, labels: Record<string, string | number>, value: number): void {
  if (metric instanceof Gauge) metric.set(labels, value);
  else metric.inc(labels, value);
}

export function createMetrics(supervisor: Supervisor, push: PushStats, apiKeys: ApiKeys): Registry {
  const registry = new Registry();
  // The endpoints of the table in force and their slots, read at each scrape: routes from Redis or DNS change.
  const endpoints = supervisor.routes;
  const handles = supervisor.workers;

  const perWorker = (kind: 'counter' | 'gauge', name: string, help: string, slot: number) => {
    const Metric = kind === 'counter' ? Counter : Gauge;
    new Metric({
      name,
      help,
      labelNames: ['worker'],
      registers: [registry],
      collect(this: Counter<string> | Gauge<string>) {
        this.reset();
        for (const h of handles) fill(this, { worker: h.index }, h.counters.worker[slot]!);
      },
    });
  };
  const perEndpoint = (kind: 'counter' | 'gauge', name: string, help: string, slot: number) => {
    const Metric = kind === 'counter' ? Counter : Gauge;
    new Metric({
      name,
      help,
      labelNames: ['worker', 'endpoint'],
      registers: [registry],
      collect(this: Counter<string> | Gauge<string>) {
        this.reset();
        for (const h of handles) for (const [endpoint, i] of endpoints.slotEntries()) fill(this, { worker: h.index, endpoint }, h.counters.endpoint(i)[slot]!);
      },
    });
  };

  perWorker('gauge', 'actorgate_sessions', 'Open client sessions.', WorkerSlot.SESSIONS);
  perWorker('counter', 'actorgate_sessions_opened_total', 'Client sessions opened.', WorkerSlot.SESSIONS_OPENED);
  perWorker('counter', 'actorgate_sessions_closed_total', 'Client sessions closed.', WorkerSlot.SESSIONS_CLOSED);
  perWorker('counter', 'actorgate_client_frames_in_total', 'Messages received from clients.', WorkerSlot.FRAMES_IN);
  perWorker('counter', 'actorgate_client_frames_out_total', 'Messages sent to clients.', WorkerSlot.FRAMES_OUT);
  perWorker('counter', 'actorgate_client_bytes_in_total', 'Bytes received from clients.', WorkerSlot.BYTES_IN);
  perWorker('counter', 'actorgate_client_bytes_out_total', 'Bytes sent to clients.', WorkerSlot.BYTES_OUT);
  perWorker('counter', 'actorgate_upgrades_refused_total', 'WebSocket upgrades refused (limit, draining, subprotocol, authentication).', WorkerSlot.UPGRADES_REFUSED);
  perWorker('counter', 'actorgate_client_send_dropped_total', 'Messages to clients dropped: send buffer full.', WorkerSlot.CLIENT_SEND_DROPPED);
  perWorker('counter', 'actorgate_heartbeats_total', 'Protocol heartbeats echoed.', WorkerSlot.HEARTBEATS);
  perWorker('counter', 'actorgate_violation_closes_total', 'Sessions closed for repeated protocol violations.', WorkerSlot.VIOLATION_CLOSES);
  perWorker('counter', 'actorgate_backend_unknown_session_total', 'Backend packets for sessions not on this worker (dropped).', WorkerSlot.UNKNOWN_SESSION);
  perWorker('counter', 'actorgate_backend_packets_invalid_total', 'Backend packets that cannot be framed for a client, of an unknown kind, or with a topic or user id out of bounds (dropped).', WorkerSlot.BACKEND_PACKET_INVALID);
  perWorker('gauge', 'actorgate_slow_sessions', 'Sessions whose send buffer overflowed and has not drained yet.', WorkerSlot.SLOW_SESSIONS);
  perWorker('counter', 'actorgate_slow_consumer_closes_total', 'Sessions closed with SLOW_CONSUMER.', WorkerSlot.SLOW_CONSUMER_CLOSES);
  perWorker('counter', 'actorgate_idle_closes_total', 'Sessions closed with IDLE_TIMEOUT.', WorkerSlot.IDLE_CLOSES);
  perWorker('gauge', 'actorgate_client_send_buffer_peak_bytes', 'Largest send buffer seen on one session of the worker.', WorkerSlot.PEAK_CLIENT_BUFFER);
  perWorker('gauge', 'actorgate_subscriptions', 'Topic subscriptions held by sessions.', WorkerSlot.SUBSCRIPTIONS);
  perWorker('counter', 'actorgate_subscribe_refused_total', 'Subscriptions refused (policy, limit, bad topic).', WorkerSlot.SUBSCRIBE_REFUSED);
  new Counter({
    name: 'actorgate_log_dropped_total',
    help: 'Log lines dropped because the thread\'s log buffer (log.maxBufferBytes) was full; worker "main" is the supervisor.',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ worker: 'main' }, droppedLogLines());
      for (const h of handles) this.inc({ worker: h.index }, h.counters.worker[WorkerSlot.LOG_DROPPED]!);
    },
  });

  /** A counter per (worker, reason) over a block of slots, one per reason from `base`. */
  const byReason = (name: string, help: string, reasons: readonly string[], base: number) =>
    new Counter({
      name,
      help,
      labelNames: ['worker', 'reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const h of handles) reasons.forEach((reason, i) => this.inc({ worker: h.index, reason }, h.counters.worker[base + i]!));
      },
    });
  byReason('actorgate_client_messages_refused_total', 'Client messages refused, by reason; the client got an ERROR frame.', RefuseReasons, WorkerSlot.REFUSED_BASE);
  byReason(
    'actorgate_upgrade_refusals_total',
    'Upgrades refused by a connection limit, an upgrade rate, the request\'s form or its subprotocol, by reason (authentication refusals: actorgate_auth_refused_total).',
    UpgradeRefusals,
    LimitSlot.UPGRADE_REFUSED_BASE,
  );
  perWorker('counter', 'actorgate_rate_limit_closes_total', 'Sessions closed with RATE_LIMIT_EXCEEDED (rate-limited for limits.rateLimitCloseAfterMs).', LimitSlot.RATE_LIMIT_CLOSES);
  perWorker('counter', 'actorgate_user_connection_check_failures_total', 'Per-user connection counts (limits.maxConnectionsPerUser) Redis could not make in time: admitted uncounted, or refused with USER_LIMIT_UNAVAILABLE.', LimitSlot.USER_CHECK_FAILURES);
  perWorker('counter', 'actorgate_handshake_timeouts_total', 'Connections closed with 408 HANDSHAKE_TIMEOUT (no complete upgrade request within limits.handshakeTimeoutMs).', LimitSlot.HANDSHAKE_TIMEOUTS);

  perEndpoint('gauge', 'actorgate_backend_mailbox_depth', 'DATA packets queued in the stream actor mailbox.', EndpointSlot.MAILBOX_DEPTH);
  perEndpoint('gauge', 'actorgate_backend_mailbox_depth_peak', 'Most DATA packets the mailbox has held since start (bounded by backend.mailboxCapacity).', EndpointSlot.MAILBOX_PEAK);
  perEndpoint('gauge', 'actorgate_backend_in_flight_bytes', 'Serialized bytes of the one batch written into grpc-js and not yet reported written.', EndpointSlot.IN_FLIGHT_BYTES);
  perEndpoint('gauge', 'actorgate_backend_in_flight_bytes_peak', 'Largest batch in flight since start (bounded by backend.maxBatchBytes plus 64 bytes per packet).', EndpointSlot.IN_FLIGHT_BYTES_PEAK);
  perEndpoint('counter', 'actorgate_backend_packets_sent_total', 'Packets written to the backend stream.', EndpointSlot.PACKETS_SENT);
  perEndpoint('counter', 'actorgate_backend_batches_sent_total', 'PacketBatch writes.', EndpointSlot.BATCHES_SENT);
  perEndpoint('counter', 'actorgate_backend_packets_received_total', 'Packets received from the backend stream.', EndpointSlot.PACKETS_RECEIVED);
  perEndpoint('counter', 'actorgate_backend_mailbox_rejected_total', 'Client messages refused: mailbox full.', EndpointSlot.MAILBOX_REJECTED);
  perEndpoint('counter', 'actorgate_backend_session_share_rejected_total', 'Client messages refused: their session held its share of the mailbox (backend.maxQueuedPerSession).', EndpointSlot.SESSION_SHARE_REJECTED);
  perEndpoint('counter', 'actorgate_backend_stream_failures_total', 'Backend stream failures.', EndpointSlot.STREAM_FAILURES);
  perEndpoint('counter', 'actorgate_backend_dropped_on_destroy_total', 'Queued packets discarded when a stream actor was destroyed.', EndpointSlot.DROPPED_ON_DESTROY);
  perEndpoint('counter', 'actorgate_backend_packets_lost_in_flight_total', 'Packets in a batch being written when the stream failed (at-most-once: maybe not delivered).', EndpointSlot.DROPPED_IN_FLIGHT);
  perEndpoint('counter', 'actorgate_backend_expired_total', 'Queued messages dropped with BACKEND_EXPIRED while the backend was down.', EndpointSlot.EXPIRED);
  perEndpoint('counter', 'actorgate_backend_write_stalls_total', 'Writes pending past backend.writeStallMs.', EndpointSlot.WRITE_STALLS);
  perEndpoint('gauge', 'actorgate_backend_circuit_state', 'Circuit state: 0=closed, 1=open, 2=half-open.', EndpointSlot.CIRCUIT_STATE);
  perEndpoint('counter', 'actorgate_backend_circuit_opened_total', 'Times the circuit opened.', EndpointSlot.CIRCUIT_OPENED);
  perEndpoint('counter', 'actorgate_backend_circuit_half_opened_total', 'Times the circuit let a probe through (half-open).', EndpointSlot.CIRCUIT_HALF_OPENED);
  perEndpoint('counter', 'actorgate_backend_circuit_closed_total', 'Times the circuit closed (always from half-open).', EndpointSlot.CIRCUIT_CLOSED);
  perEndpoint('counter', 'actorgate_backend_unavailable_total', 'Client messages refused fast with BACKEND_UNAVAILABLE.', EndpointSlot.UNAVAILABLE);
  perEndpoint('counter', 'actorgate_backend_failovers_total', 'Sessions moved off the endpoint after failoverAfterMs.', EndpointSlot.FAILOVERS);
  perEndpoint('counter', 'actorgate_backend_notify_failures_total', 'NotifyConnect/NotifyDisconnect calls that failed.', EndpointSlot.NOTIFY_FAILURES);
  new Gauge({
    name: 'actorgate_backend_stream_state',
    help: `Stream actor state: ${StreamStates.map((s, i) => `${i}=${s}`).join(', ')}.`,
    labelNames: ['worker', 'endpoint'],
    registers: [registry],
    collect() {
      this.reset();
      for (const h of handles) for (const [endpoint, i] of endpoints.slotEntries()) this.set({ worker: h.index, endpoint }, h.counters.endpoint(i)[EndpointSlot.STREAM_STATE]!);
    },
  });
  perWorker('counter', 'actorgate_push_delivered_total', 'Pushes (push API or Redis) that reached at least one local session.', WorkerSlot.PUSH_DELIVERED);
  perWorker('counter', 'actorgate_push_sessions_reached_total', 'Sessions reached by pushes.', WorkerSlot.PUSH_SESSIONS_REACHED);
  perWorker('counter', 'actorgate_push_no_local_target_total', 'Pushes a worker was given that reached none of its sessions.', WorkerSlot.PUSH_NO_TARGET);
  perWorker('counter', 'actorgate_redis_received_total', 'Messages received from Redis for delivery.', WorkerSlot.REDIS_RECEIVED);
  perWorker('counter', 'actorgate_redis_invalid_total', 'Redis messages that were not valid envelopes (dropped).', WorkerSlot.REDIS_INVALID);
  if (supervisor.config.redis !== null) {
    perWorker('counter', 'actorgate_redis_subscriber_reconnects_total', 'Times a worker replaced its Redis connections: after a missed probe, or a cluster lost in full.', RedisSlot.RECONNECTS);
  }
  if (supervisor.config.redis !== null && supervisor.config.redis.healthCheckMs > 0) {
    perWorker('gauge', 'actorgate_redis_health', "The worker's Redis pub/sub path as its probes see it: 0 ok, 1 degraded (a probe went missing; connections replaced), 2 disconnected.", RedisSlot.HEALTH);
    perWorker('counter', 'actorgate_redis_probes_missed_total', 'Probes a worker published on its own session channel that did not come back within redis.healthCheckMs.', RedisSlot.PROBES_MISSED);
    perWorker('gauge', 'actorgate_redis_probe_rtt_seconds', "Round trip of the worker's last probe that came back.", RedisSlot.PROBE_RTT);
  }
  new Counter({
    name: 'actorgate_push_api_total',
    help: 'Pushes taken by the push API (gRPC and HTTP), by outcome.',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'accepted' }, push.accepted);
      this.inc({ outcome: 'invalid' }, push.invalid);
      this.inc({ outcome: 'no_target' }, push.noTarget);
      this.inc({ outcome: 'overloaded' }, push.overloaded);
      this.inc({ outcome: 'redis_published' }, push.redisPublished);
      this.inc({ outcome: 'redis_failed' }, push.redisFailed);
    },
  });
  new Counter({
    name: 'actorgate_api_key_refused_total',
    help: 'Requests refused for their API key (push.apiKeys, admin.apiKeys), by API (push: gRPC and POST /v1/push; admin: /ready, /metrics, /dashboard/events) and reason (missing, invalid).',
    labelNames: ['api', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const api of ['push', 'admin'] as const) for (const reason of API_KEY_REFUSALS) this.inc({ api, reason }, apiKeys.refused[api][reason]);
    },
  });
  if (supervisor.config.auth !== null) registerAuthMetrics(registry, handles, supervisor.auth, perWorker);
  registerLoopDelayMetric(registry, handles);
  registerGcMetric(registry, handles);
  registerStageMetrics(registry, handles, endpoints);
  registerDrainMetrics(registry, supervisor);
  registerAccessLogMetrics(perWorker);
  registerTracingMetrics(registry, handles, perWorker);
  registerRouteMetrics(registry, supervisor.routes);
  new Gauge({
    name: 'actorgate_worker_restarts',
    help: 'Worker restarts since start.',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      for (const h of handles) this.set({ worker: h.index }, h.restarts);
    },
  });
  return registry;
}
