/**
 * The table of scalar settings: one row per config field that holds a single value, with its kind, range, default
 * and help text. `resolveConfig()` validates from it, the CLI derives a flag and an `ACTORGATE_*` variable from each
 * row (src/cli/settings.ts), and `--help` prints it, so a new option is one row here plus its field in the
 * `GatewayOptions` types. Structured fields (routes, the form of the Redis URL, relations between two fields) keep
 * their own checks in options.ts and options-validate.ts.
 */
import { availableParallelism, hostname } from 'node:os';
import { randomInt } from 'node:crypto';
import { MAX_NODE_ID, MAX_WORKERS } from './session-id.ts';
import { Code } from '../protocol/codes.ts';
import { MAX_PAYLOAD_BYTES } from '../protocol/frame.ts';

/** The ports a gateway opens unless told otherwise: WebSocket clients, admin HTTP, GatewayPush gRPC. */
export const DEFAULT_PORTS = Object.freeze({ listen: 7000, admin: 7001, push: 7002 });

export const LOG_LEVELS = Object.freeze(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export type SettingValue = number | string | boolean | null | readonly string[];

interface RowCommon {
  /** Dotted config path (`listen.port`); a top-level field has no dot. */
  readonly path: string;
  /** What an absent field becomes; a function where it is worked out at each resolve (host name, CPU count). */
  readonly default: SettingValue | (() => SettingValue);
  /** How --help words a default that is worked out, or absent. */
  readonly defaultText?: string;
  /** The `actorgate` command's default, where it differs from the library's. */
  readonly cliDefault?: SettingValue;
  /** null is accepted too, and turns the feature off. */
  readonly nullable?: boolean;
  /** The flag without `--`; by default the path in kebab case with `-` for `.` (`log-max-buffer-bytes`); null: none. */
  readonly flag?: string | null;
  /** The value's placeholder after the flag in --help (`--port P`). */
  readonly metavar?: string;
  /** The --help text: a description for the options list, a short note for a row of a config section. */
  readonly doc?: string;
}

/** One scalar setting. The kind decides the check; its error names `path` as the bad field. */
export type SettingRow = RowCommon &
  (
    | { readonly kind: 'int'; readonly min: number; readonly max: number }
    | { readonly kind: 'number'; readonly min: number }
    | { readonly kind: 'enum'; readonly values: readonly string[] }
    | { readonly kind: 'string' | 'bool' | 'globs' | 'keyHashes' }
  );

const KIB = 1024;
const MIB = 1024 * KIB;
export const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const PORT = { kind: 'int', min: 0, max: 65535 } as const;

/** In --help order: the options list first, then the sections whose fields --help lists as rows. */
export const SETTING_ROWS: readonly SettingRow[] = [
  { path: 'workers', kind: 'int', min: 1, max: MAX_WORKERS, default: () => Math.min(availableParallelism(), MAX_WORKERS), defaultText: 'the number of CPU cores', metavar: 'N', doc: 'Worker threads, each owning a shard of the connections.' },
  { path: 'listen.host', kind: 'string', default: '0.0.0.0', flag: 'host', metavar: 'H', doc: 'Address the WebSocket server listens on.' },
  { path: 'listen.port', ...PORT, default: DEFAULT_PORTS.listen, flag: 'port', metavar: 'P', doc: 'WebSocket port; 0 picks one free port shared by all workers.' },
  { path: 'listen.trustProxy', kind: 'globs', default: [], defaultText: 'none', flag: 'trust-proxy', metavar: 'CIDRS', doc: 'Comma-separated addresses or CIDRs (10.0.0.0/8, ::1) of proxies in front of the gateway: a connection from one of them takes its client address from its PROXY v2 header or X-Forwarded-For (per-IP limits and logs use it).' },
  { path: 'admin.host', kind: 'string', default: '127.0.0.1', metavar: 'H', doc: 'Address of the admin HTTP server.' },
  { path: 'admin.port', ...PORT, nullable: true, default: DEFAULT_PORTS.admin, metavar: 'A|off', doc: 'Admin HTTP port serving /health, /ready, /metrics and /dashboard; "off" disables it.' },
  { path: 'admin.apiKeys', kind: 'keyHashes', default: [], defaultText: 'none (no key needed: keep admin.host on loopback)', metavar: 'HASHES', doc: 'Comma-separated hashes (sha256:<64 hex>, from actorgate hash-key) of the API keys the admin port requires, in X-Api-Key or Authorization: Bearer: for /metrics, the worker list of /ready, /dashboard/events, and POST /v1/push unless push.apiKeys is set; /health and the /dashboard page stay open.' },
  { path: 'push.host', kind: 'string', default: '127.0.0.1', metavar: 'H', doc: 'Address of the GatewayPush gRPC server.' },
  { path: 'push.port', ...PORT, nullable: true, default: DEFAULT_PORTS.push, metavar: 'G|off', doc: 'GatewayPush gRPC port (Push, PushStream); "off" disables it.' },
  { path: 'push.apiKeys', kind: 'keyHashes', default: [], defaultText: 'none (no key needed: keep push.host on loopback)', metavar: 'HASHES', doc: 'Comma-separated hashes of the API keys the push API requires: Push and PushStream (metadata x-api-key or authorization: Bearer) and POST /v1/push.' },
  { path: 'redis.url', kind: 'string', default: null, defaultText: 'none', flag: 'redis', metavar: 'URL', doc: 'redis:// URL for fan-out across gateway instances (topic, user and session channels).' },
  { path: 'redis.cluster', kind: 'globs', default: null, defaultText: 'none', metavar: 'NODES', doc: 'Comma-separated host:port seed nodes of a Redis Cluster (Redis 7+), instead of --redis: fan-out uses sharded pub/sub (SSUBSCRIBE/SPUBLISH), so each message travels only within the shard owning its channel.' },
  { path: 'redis.prefix', kind: 'string', default: 'actorgate:', metavar: 'P', doc: 'Prefix of every Redis channel and key.' },
  { path: 'redis.healthCheckMs', kind: 'int', min: 0, max: HOUR_MS, default: 5000, metavar: 'MS', doc: "With redis: each worker publishes a probe on its own session channel this often and expects it back before the next; a missing one is counted, the worker's Redis connections are replaced, and /ready reports the worker degraded. 0: off; else at least 100." },
  { path: 'registry.advertiseHost', kind: 'string', default: () => hostname(), defaultText: 'the host name', metavar: 'H', doc: 'advertised in place of a wildcard listen.host or push.host (0.0.0.0, ::)' },
  { path: 'registry.clientUrls', kind: 'globs', default: [], defaultText: 'derived', metavar: 'URLS', doc: 'ws:// or wss:// URLs for clients; derived: from listen (host, port, tls)' },
  { path: 'registry.pushAddress', kind: 'string', nullable: true, default: null, defaultText: 'derived', metavar: 'HOST:PORT', doc: 'host:port of the push port for push clients; derived: push.host and port' },
  { path: 'registry.ttlMs', kind: 'int', min: 3000, max: HOUR_MS, default: 15_000, metavar: 'MS', doc: 'an entry not refreshed this long expires; refreshed every third of it' },
  { path: 'name', kind: 'string', default: () => hostname(), defaultText: 'the host name', metavar: 'NAME', doc: 'Gateway name (printable ASCII, at most 255 characters); backends see it as gate-name = <name>/<worker>.' },
  { path: 'nodeId', kind: 'int', min: 0, max: MAX_NODE_ID, default: () => randomInt(0, MAX_NODE_ID + 1), defaultText: 'random (with redis: a free id leased from Redis)', metavar: 'N', doc: `This instance's node id in session ids (0-${MAX_NODE_ID}); give every instance of a cluster its own.` },
  { path: 'topics.allow', kind: 'globs', default: [], defaultText: 'none', metavar: 'GLOBS', doc: 'Comma-separated topic globs clients may subscribe to (* matches any run of characters).' },
  { path: 'log.level', kind: 'enum', values: LOG_LEVELS, default: 'warn', cliDefault: 'info', metavar: 'L', doc: 'fatal, error, warn, info, debug, trace or silent. Logs are JSON lines (pino).' },
  { path: 'log.destination', kind: 'string', default: 'stdout', metavar: 'D', doc: 'stdout, stderr, or a file path that every thread appends to (created if missing).' },
  { path: 'log.maxBufferBytes', kind: 'int', min: 64 * KIB, max: 1024 * MIB, default: 16 * MIB, metavar: 'B', doc: 'Log bytes one thread buffers while the destination is slow; past it lines are dropped and counted (actorgate_log_dropped_total).' },
  { path: 'accessLog.destination', kind: 'string', nullable: true, default: null, defaultText: 'none (off)', metavar: 'D', doc: 'Access log: one JSON line per connection at its close (README, "Access log"), to stdout, stderr, or a file path that every worker appends to (created if missing, reopened once rotated away).' },
  { path: 'accessLog.maxBufferLines', kind: 'int', min: 1, max: 10_000_000, default: 10_000, metavar: 'N', doc: 'Access log lines one worker holds while the destination is slow; past it lines are dropped and counted (actorgate_access_log_dropped_total).' },
  { path: 'accessLog.flushIntervalMs', kind: 'int', min: 1, max: 60_000, default: 200, metavar: 'MS', doc: 'How often a worker writes the access log lines it holds (at once when 256 wait).' },

  { path: 'limits.maxConnectionsPerWorker', kind: 'int', min: 1, max: 10_000_000, default: 50_000, doc: 'upgrades past it get HTTP 503' },
  { path: 'limits.maxPayloadBytes', kind: 'int', min: 0, max: MAX_PAYLOAD_BYTES, default: MAX_PAYLOAD_BYTES, doc: `largest client payload (at most ${MAX_PAYLOAD_BYTES})` },
  { path: 'limits.clientSendBufferBytes', kind: 'int', min: KIB, max: 1024 * MIB, default: MIB, doc: 'bytes queued towards one client before messages are dropped' },
  { path: 'limits.maxViolations', kind: 'int', min: 0, max: 1_000_000, default: 10, doc: 'protocol violations per window before the session is closed' },
  { path: 'limits.violationWindowMs', kind: 'int', min: 1, max: DAY_MS, default: 60_000 },
  { path: 'limits.maxSubscriptionsPerSession', kind: 'int', min: 0, max: 100_000, default: 64 },
  { path: 'limits.idleTimeoutMs', kind: 'int', min: 0, max: DAY_MS, default: 60_000, doc: `0 disables; close a silent client with ${Code.IDLE_TIMEOUT}` },
  { path: 'limits.pingIntervalMs', kind: 'int', min: 0, max: DAY_MS, default: 20_000, doc: 'below idleTimeoutMs; 0 disables' },
  { path: 'limits.slowConsumerGraceMs', kind: 'int', min: 0, max: HOUR_MS, default: 5000, doc: `send buffer full this long: close with ${Code.SLOW_CONSUMER}` },
  { path: 'limits.maxConnections', kind: 'int', min: 0, max: 100_000_000, default: 0, doc: `connections of the whole process; past it 503 (${Code.TOO_MANY_CONNECTIONS}); 0: off` },
  { path: 'limits.maxConnectionsPerIp', kind: 'int', min: 0, max: 100_000_000, default: 1000, doc: `per client address (IPv6: /64), all workers; past it 429 (${Code.TOO_MANY_CONNECTIONS_PER_IP}); 0: off` },
  { path: 'limits.upgradesPerSecond', kind: 'int', min: 0, max: 10_000_000, default: 0, doc: `upgrades a second, whole process; past it 503 (${Code.TOO_MANY_UPGRADES}); 0: off` },
  { path: 'limits.upgradeBurst', kind: 'int', min: 1, max: 10_000_000, default: 1000, doc: 'upgrades taken at once above that rate' },
  { path: 'limits.upgradesPerSecondPerIp', kind: 'int', min: 0, max: 10_000_000, default: 200, doc: `upgrades a second per client address; past it 429 (${Code.TOO_MANY_UPGRADES_PER_IP}); 0: off` },
  { path: 'limits.upgradeBurstPerIp', kind: 'int', min: 1, max: 10_000_000, default: 400 },
  { path: 'limits.handshakeTimeoutMs', kind: 'int', min: 0, max: 600_000, default: 5000, doc: `no complete request this long after connect: 408 (${Code.HANDSHAKE_TIMEOUT}); 0: uWS's ~10 s` },
  { path: 'limits.maxUrlBytes', kind: 'int', min: 64, max: 65_536, default: 2 * KIB, doc: `longer request target: 414 (${Code.URL_TOO_LONG})` },
  { path: 'limits.maxHeaderBytes', kind: 'int', min: 512, max: 256 * KIB, default: 4 * KIB, doc: `longer request head: 431 (${Code.HEADERS_TOO_LARGE}); above 4096: docs/PROTOCOL.md §12` },
  { path: 'limits.maxHeaderFields', kind: 'int', min: 8, max: 98, default: 64, doc: `more header fields: 431 (${Code.HEADERS_TOO_LARGE}); uWS takes at most 98` },
  { path: 'limits.messagesPerSecond', kind: 'int', min: 0, max: 10_000_000, default: 1000, doc: `client messages a second per session; past it ERROR ${Code.RATE_LIMITED}; 0: off` },
  { path: 'limits.messageBurst', kind: 'int', min: 1, max: 100_000_000, default: 2000, doc: 'messages taken at once above that rate' },
  { path: 'limits.bytesPerSecond', kind: 'int', min: 0, max: 1024 * 1024 * MIB, default: 4 * MIB, doc: `client bytes a second per session; past it ERROR ${Code.RATE_LIMITED}; 0: off` },
  { path: 'limits.byteBurst', kind: 'int', min: 1, max: 1024 * 1024 * MIB, default: 8 * MIB, doc: 'at least maxPayloadBytes + 8' },
  { path: 'limits.rateLimitCloseAfterMs', kind: 'int', min: 1, max: DAY_MS, default: 5000, doc: `refused RATE_LIMITED without a 1 s break this long: close with ${Code.RATE_LIMIT_EXCEEDED}` },
  { path: 'limits.userMessagesPerSecond', kind: 'int', min: 0, max: 10_000_000, default: 0, doc: `client messages a second per user, all its sessions on the process; past it ERROR ${Code.RATE_LIMITED}; 0: off` },
  { path: 'limits.userMessageBurst', kind: 'int', min: 1, max: 100_000_000, default: 2000, doc: 'messages a user may send at once above that rate' },
  { path: 'limits.userBytesPerSecond', kind: 'int', min: 0, max: 1024 * 1024 * MIB, default: 0, doc: `client bytes a second per user; past it ERROR ${Code.RATE_LIMITED}; 0: off` },
  { path: 'limits.userByteBurst', kind: 'int', min: 1, max: 1024 * 1024 * MIB, default: 8 * MIB, doc: 'at least maxPayloadBytes + 8' },
  { path: 'limits.maxConnectionsPerUser', kind: 'int', min: 0, max: 10_000_000, default: 0, doc: `per token user across instances (needs redis, auth); past it 429 (${Code.TOO_MANY_CONNECTIONS_PER_USER}); 0: off` },
  { path: 'limits.userConnectionsTimeoutMs', kind: 'int', min: 1, max: 60_000, default: 500, doc: "deadline of that count in Redis; past it (or Redis down) userConnectionsFailOpen decides" },
  { path: 'limits.userConnectionsFailOpen', kind: 'bool', default: true, doc: `true: admit uncounted; false: 503 (${Code.USER_LIMIT_UNAVAILABLE})` },
  { path: 'limits.userConnectionsLeaseMs', kind: 'int', min: 1000, max: HOUR_MS, default: 30_000, doc: "a dead instance's user counts stop counting within this" },

  { path: 'backend.mailboxCapacity', kind: 'int', min: 1, max: 10_000_000, default: 4096, doc: 'queued messages per (worker, endpoint); past it clients get BACKEND_OVERLOADED' },
  { path: 'backend.maxQueuedPerSession', kind: 'int', min: 0, max: 10_000_000, default: 0, doc: 'queued messages one session may hold in that mailbox, ≤ mailboxCapacity; past it that session gets BACKEND_OVERLOADED; 0: mailboxCapacity / 4, rounded up' },
  { path: 'backend.maxBatchPackets', kind: 'int', min: 1, max: 100_000, default: 512, doc: 'packets per PacketBatch write' },
  { path: 'backend.maxBatchBytes', kind: 'int', min: KIB, max: 64 * MIB, default: 256 * KIB },
  { path: 'backend.reconnectInitialMs', kind: 'int', min: 1, max: HOUR_MS, default: 100, doc: 'reconnect backoff, full jitter' },
  { path: 'backend.reconnectMaxMs', kind: 'int', min: 1, max: HOUR_MS, default: 5000 },
  { path: 'backend.reconnectMultiplier', kind: 'number', min: 1, default: 2 },
  { path: 'backend.keepaliveMs', kind: 'int', min: 1000, max: HOUR_MS, default: 20_000 },
  { path: 'backend.keepaliveTimeoutMs', kind: 'int', min: 100, max: HOUR_MS, default: 10_000 },
  // 2^31 − 1 is the largest HTTP/2 window
  { path: 'backend.flowControlWindowBytes', kind: 'int', min: 65_535, max: 2 ** 31 - 1, default: MIB },
  { path: 'backend.notifyTimeoutMs', kind: 'int', min: 1, max: 600_000, default: 5000, doc: 'deadline of NotifyConnect/NotifyDisconnect' },
  { path: 'backend.maxQueueAgeMs', kind: 'int', min: 1, max: HOUR_MS, default: 5000, doc: 'while down, older queued messages get BACKEND_EXPIRED' },
  { path: 'backend.circuitFailureThreshold', kind: 'int', min: 1, max: 1_000_000, default: 3, doc: 'consecutive failures that open the circuit' },
  { path: 'backend.circuitOpenMs', kind: 'int', min: 1, max: HOUR_MS, default: 5000, doc: 'open circuit fails fast this long, then half-open' },
  { path: 'backend.writeStallMs', kind: 'int', min: 1, max: HOUR_MS, default: 5000, doc: 'a write pending this long counts as a failure' },
  { path: 'backend.failoverAfterMs', kind: 'int', min: 1, max: DAY_MS, default: 10_000, doc: 'down this long: bound sessions get BACKEND_FAILOVER' },

  { path: 'shutdown.drainTimeoutMs', kind: 'int', min: 0, max: HOUR_MS, default: 10_000, doc: 'caps the whole drain, counted from drain(); then every session still open is closed' },
  { path: 'shutdown.drainWindowMs', kind: 'int', min: 0, max: HOUR_MS, default: 5000, doc: 'reconnects and DRAINED closes spread over this; 0: all at once; cut to fit the timeout' },
  { path: 'shutdown.preDrainDelayMs', kind: 'int', min: 0, max: HOUR_MS, default: 0, doc: '/ready 503 at once, the first DRAIN this much later (connections still accepted)' },
  { path: 'shutdown.flushTimeoutMs', kind: 'int', min: 0, max: 600_000, default: 2000, doc: 'close waits this long for CLOSE packets to reach backends' },
  { path: 'restart.initialMs', kind: 'int', min: 1, max: 600_000, default: 100, doc: "backoff of a failed worker's restart, doubling per quick failure" },
  { path: 'restart.maxMs', kind: 'int', min: 1, max: HOUR_MS, default: 5000 },
  { path: 'control.routes', kind: 'enum', values: ['config', 'redis'], default: 'config', doc: 'Where the route table comes from: config (the config file) or redis (the <prefix>routes document, hot-reloaded; needs redis).' },
  { path: 'control.refreshMs', kind: 'int', min: 100, max: HOUR_MS, default: 30_000, doc: 'The Redis route document is also re-read this often, besides on its notification.' },
  { path: 'control.cacheFile', kind: 'string', default: null, defaultText: '<tmpdir>/actorgate-routes-<name>.json', doc: 'File holding the last good Redis route document, served when Redis is unreachable at start.' },
  { path: 'control.dnsRefreshMs', kind: 'int', min: 100, max: HOUR_MS, default: 5000, doc: 'How often dns:///name:port endpoints are resolved again.' },
  { path: 'control.dnsServers', kind: 'globs', default: [], defaultText: 'the system resolver', doc: 'Comma-separated DNS servers (ip or ip:port) that dns:/// endpoints are resolved with.' },
  { path: 'control.maxEndpoints', kind: 'int', min: 1, max: 4096, default: 256, doc: 'Distinct endpoints a Redis or DNS route table may hold (their metric slots are allocated at start); a table needing more is refused.' },

  { path: 'tracing.sampleRatio', kind: 'number', min: 0, default: 0, doc: 'share of client DATA (0-1) sent with a W3C traceparent; with otlpEndpoint also of connection spans' },
  { path: 'tracing.otlpEndpoint', kind: 'string', nullable: true, default: null, defaultText: 'none', doc: 'no spans when none; OTLP/gRPC collector, http://host:4317 or https://; each worker exports its spans there' },
  { path: 'tracing.otlpHeaders', kind: 'globs', default: [], defaultText: 'none', doc: 'comma-separated name=value gRPC metadata for the collector' },
  { path: 'tracing.serviceName', kind: 'string', default: 'actorgate', doc: 'the spans\' service.name' },
  { path: 'tracing.exportIntervalMs', kind: 'int', min: 10, max: 600_000, default: 1000, doc: 'a worker exports ended spans this often' },
  { path: 'tracing.maxQueueSpans', kind: 'int', min: 1, max: 1_000_000, default: 4096, doc: 'ended spans a worker holds for export; past it spans are dropped' },

  { path: 'metrics.stageSampleEvery', kind: 'int', min: 0, max: 1_000_000_000, default: 64, doc: 'time 1 in N messages and pushes through their stages (actorgate_stage_*_seconds); 0: off' },

  { path: 'faultInjection', kind: 'bool', default: false, flag: null, doc: 'test rigs only: lets the testkit crash a worker on purpose.' },
];

/** `listen.port` → `['listen', 'port']`; a top-level field → `[undefined, 'name']`. */
export function splitPath(path: string): [section: string | undefined, key: string] {
  const dot = path.indexOf('.');
  return dot < 0 ? [undefined, path] : [path.slice(0, dot), path.slice(dot + 1)];
}

/** The rows of one config section, in table order. */
export function sectionRows(section: string): SettingRow[] {
  return SETTING_ROWS.filter((row) => splitPath(row.path)[0] === section);
}

/** A section's defaults as an object (`{ host: '0.0.0.0', port: 7000 }`); `cli`: the `actorgate` command's. */
export function sectionDefaults(section: string, cli = false): Readonly<Record<string, SettingValue | undefined>> {
  return Object.freeze(Object.fromEntries(sectionRows(section).map((row) => [splitPath(row.path)[1], staticDefault(row, cli)])));
}

/** The default as data; a worked-out default (a function) is undefined here, so it never leaks as a constant. */
export function staticDefault(row: SettingRow, cli = false): SettingValue | undefined {
  if (cli && row.cliDefault !== undefined) return row.cliDefault;
  return typeof row.default === 'function' ? undefined : row.default;
}

