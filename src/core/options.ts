/**
 * Gateway options: the config-file shape, its defaults and `resolveConfig()`, which validates them with the field
 * checkers of `options-validate.ts`. Validated once at start; the resolved config is frozen and passed to every worker
 * as plain data.
 */
import { availableParallelism, hostname } from 'node:os';
import { randomInt } from 'node:crypto';
import { ConfigError } from './errors.ts';
import { bool, checkKeys, int, num, section, show, str, validateRoutes } from './options-validate.ts';
import { MAX_NODE_ID, MAX_WORKERS } from './session-id.ts';
import { MAX_PAYLOAD_BYTES } from '../protocol/frame.ts';

export { ROUTE_KEYS, validateEndpoint, validateRoute, validateRoutes } from './options-validate.ts';

export type RouteStrategy = 'round-robin' | 'consistent-hash';

/** One routing rule (DESIGN.md §5). 0 or absent `worldId`/`instId` is a wildcard; the most specific rule wins. */
export interface RouteRule {
  serverType: number;
  /** @default 0 (any) */
  worldId?: number;
  /** @default 0 (any) */
  instId?: number;
  /** `host:port` of each backend endpoint. */
  endpoints: string[];
  /** @default 'round-robin' */
  strategy?: RouteStrategy;
  /** Key for consistent-hash: the session id, or the bound user id (falls back to the session id). @default 'session' */
  hashBy?: 'session' | 'user';
  /** Also call the unary NotifyConnect/NotifyDisconnect (older backends). @default false */
  notify?: boolean;
  /**
   * Topic globs whose client subscriptions this route's backend authorizes: the gateway forwards a SUBSCRIBE packet
   * and the backend's SUBSCRIBE answer (code 0: granted) decides. Checked before `topics.allow`. @default []
   */
  authorizeTopics?: string[];
}

export interface RedisOptions {
  /** `redis://[user:password@]host:port[/db]` */
  url: string;
  /** Prefix of every channel name. @default 'actorgate:' */
  prefix?: string;
}

export interface LimitsOptions {
  /** Connections one worker accepts; upgrades past it get HTTP 503. @default 50000 */
  maxConnectionsPerWorker: number;
  /** Largest client payload accepted (header excluded); at most 65535 (the u16 length field). @default 65535 */
  maxPayloadBytes: number;
  /** Bytes a session may have queued towards its client (uWS backpressure); past it messages are dropped and counted. @default 1048576 */
  clientSendBufferBytes: number;
  /** Protocol violations tolerated per window before the session is closed with PROTOCOL_VIOLATION. @default 10 */
  maxViolations: number;
  /** @default 60000 */
  violationWindowMs: number;
  /** @default 64 */
  maxSubscriptionsPerSession: number;
  /** A client silent this long (no message, no pong) is closed with IDLE_TIMEOUT; 0 disables. @default 60000 */
  idleTimeoutMs: number;
  /** A WebSocket ping goes to a client silent this long; 0 disables (clients then need protocol heartbeats). @default 20000 */
  pingIntervalMs: number;
  /** A client whose send buffer stays full this long is closed with SLOW_CONSUMER. @default 5000 */
  slowConsumerGraceMs: number;
}

export interface BackendOptions {
  /** Messages one stream actor queues (per worker, per endpoint); past it clients get BACKEND_OVERLOADED. @default 4096 */
  mailboxCapacity: number;
  /** Packets per PacketBatch write. @default 512 */
  maxBatchPackets: number;
  /** Payload bytes per PacketBatch write (a batch always takes at least one packet). @default 262144 */
  maxBatchBytes: number;
  /** First reconnect delay; each attempt multiplies it, with full jitter. @default 100 */
  reconnectInitialMs: number;
  /** @default 5000 */
  reconnectMaxMs: number;
  /** @default 2 */
  reconnectMultiplier: number;
  /** HTTP/2 keepalive ping interval. @default 20000 */
  keepaliveMs: number;
  /** @default 10000 */
  keepaliveTimeoutMs: number;
  /** HTTP/2 stream and connection flow-control window. @default 1048576 */
  flowControlWindowBytes: number;
  /** Deadline of unary NotifyConnect/NotifyDisconnect calls. @default 5000 */
  notifyTimeoutMs: number;
  /** While the stream is down, queued messages older than this are dropped with BACKEND_EXPIRED. @default 5000 */
  maxQueueAgeMs: number;
  /** Consecutive failures (stream failures, write stalls) that open the circuit. @default 3 */
  circuitFailureThreshold: number;
  /** How long an open circuit fails fast before it lets a probe through (half-open). @default 5000 */
  circuitOpenMs: number;
  /** A batch write not completed within this long is a write stall (one failure). @default 5000 */
  writeStallMs: number;
  /** An endpoint down this long has its sessions told BACKEND_FAILOVER and rebound on their next message. @default 10000 */
  failoverAfterMs: number;
}

export interface LogOptions {
  /** fatal, error, warn, info, debug, trace or silent. @default 'info' */
  level: string;
  /** `stdout`, `stderr`, or a file path (appended to; created if missing). @default 'stdout' */
  destination: string;
  /**
   * Bytes of log lines one thread buffers while its destination is slower than the logs come; past it lines are
   * dropped and counted (`actorgate_log_dropped_total`). @default 16777216 (16 MiB)
   */
  maxBufferBytes: number;
}

export interface GatewayOptions {
  /** Gateway name, sent as `gate-name` = `<name>/<worker>`. @default os.hostname() */
  name?: string;
  /**
   * This instance's node id in session ids (0–8191); each instance of a cluster needs its own.
   * @default with `redis`: a free id leased from Redis; without: random
   */
  nodeId?: number;
  /** Worker threads. @default os.availableParallelism() */
  workers?: number;
  /** @default { host: '0.0.0.0', port: 7000 }; port 0 picks one free port that all workers share */
  listen?: { host?: string; port?: number };
  /** Admin HTTP server (/health, /ready, /metrics); port null disables it. @default { host: '127.0.0.1', port: 7001 } */
  admin?: { host?: string; port?: number | null };
  /** gRPC GatewayPush server; port null disables it. @default { host: '127.0.0.1', port: 7002 } */
  push?: { host?: string; port?: number | null };
  /** Redis for fan-out across gateway instances; absent: everything stays within this instance. */
  redis?: RedisOptions | null;
  routes?: RouteRule[];
  /** Topics clients may subscribe to: glob patterns (`*` matches any run of characters). @default [] (none) */
  topics?: { allow?: string[] };
  limits?: Partial<LimitsOptions>;
  backend?: Partial<BackendOptions>;
  log?: Partial<LogOptions>;
  shutdown?: {
    /** How long drain() waits for clients to leave before closing them. @default 10000 */
    drainTimeoutMs?: number;
    /** How long close() waits for CLOSE packets to reach backends. @default 2000 */
    flushTimeoutMs?: number;
  };
  /** Worker restart backoff. */
  restart?: { initialMs?: number; maxMs?: number };
  /** Test rigs only: lets the testkit inject a fault into a worker. @default false */
  faultInjection?: boolean;
}

export interface ResolvedConfig {
  readonly name: string;
  readonly nodeId: number;
  readonly workers: number;
  readonly listen: { readonly host: string; readonly port: number };
  readonly admin: { readonly host: string; readonly port: number | null };
  readonly push: { readonly host: string; readonly port: number | null };
  readonly redis: { readonly url: string; readonly prefix: string } | null;
  readonly routes: readonly Required<RouteRule>[];
  readonly topics: { readonly allow: readonly string[] };
  readonly limits: Readonly<LimitsOptions>;
  readonly backend: Readonly<BackendOptions>;
  readonly log: Readonly<LogOptions>;
  readonly shutdown: { readonly drainTimeoutMs: number; readonly flushTimeoutMs: number };
  readonly restart: { readonly initialMs: number; readonly maxMs: number };
  readonly faultInjection: boolean;
}

export const defaultLimits: Readonly<LimitsOptions> = Object.freeze({
  maxConnectionsPerWorker: 50_000,
  maxPayloadBytes: MAX_PAYLOAD_BYTES,
  clientSendBufferBytes: 1024 * 1024,
  maxViolations: 10,
  violationWindowMs: 60_000,
  maxSubscriptionsPerSession: 64,
  idleTimeoutMs: 60_000,
  pingIntervalMs: 20_000,
  slowConsumerGraceMs: 5000,
});

export const defaultBackend: Readonly<BackendOptions> = Object.freeze({
  mailboxCapacity: 4096,
  maxBatchPackets: 512,
  maxBatchBytes: 256 * 1024,
  reconnectInitialMs: 100,
  reconnectMaxMs: 5000,
  reconnectMultiplier: 2,
  keepaliveMs: 20_000,
  keepaliveTimeoutMs: 10_000,
  flowControlWindowBytes: 1024 * 1024,
  notifyTimeoutMs: 5000,
  maxQueueAgeMs: 5000,
  circuitFailureThreshold: 3,
  circuitOpenMs: 5000,
  writeStallMs: 5000,
  failoverAfterMs: 10_000,
});

export const defaultLog: Readonly<LogOptions> = Object.freeze({
  level: 'info',
  destination: 'stdout',
  maxBufferBytes: 16 * 1024 * 1024,
});

export const defaultShutdown = Object.freeze({ drainTimeoutMs: 10_000, flushTimeoutMs: 2000 });

export const defaultRestart = Object.freeze({ initialMs: 100, maxMs: 5000 });

/**
 * A closing worker's deadlines past `shutdown.flushTimeoutMs`. After the first, the worker's own watchdog closes its
 * uWS app synchronously and reports closed; after the second, the supervisor stops waiting for a worker that never
 * reported (its loop is wedged) and leaves the thread alone: terminating a thread whose app is open aborts the process.
 */
export const CLOSE_WATCHDOG_SLACK_MS = 1000;
export const CLOSE_ABANDON_SLACK_MS = 5000;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Every top-level config field. */
export const CONFIG_KEYS = ['name', 'nodeId', 'workers', 'listen', 'admin', 'push', 'redis', 'routes', 'topics', 'limits', 'backend', 'log', 'shutdown', 'restart', 'faultInjection'] as const;

/** The fields of each object-valued config section. */
export const SECTION_KEYS = Object.freeze({
  listen: ['host', 'port'],
  admin: ['host', 'port'],
  push: ['host', 'port'],
  redis: ['url', 'prefix'],
  topics: ['allow'],
  limits: Object.keys(defaultLimits),
  backend: Object.keys(defaultBackend),
  log: Object.keys(defaultLog),
  shutdown: Object.keys(defaultShutdown),
  restart: Object.keys(defaultRestart),
}) satisfies Record<string, readonly string[]>;

/** Validates user options (config file, env, flags or library call merged) and returns the frozen config. */
export function resolveConfig(input: unknown): ResolvedConfig {
  const options = section(input, 'options');
  checkKeys(options, CONFIG_KEYS, '');
  const listen = section(options.listen, 'listen');
  checkKeys(listen, SECTION_KEYS.listen, 'listen');
  const admin = section(options.admin, 'admin');
  checkKeys(admin, SECTION_KEYS.admin, 'admin');
  const push = section(options.push, 'push');
  checkKeys(push, SECTION_KEYS.push, 'push');
  const redisInput = options.redis === null ? {} : section(options.redis, 'redis');
  checkKeys(redisInput, SECTION_KEYS.redis, 'redis');
  let redis: ResolvedConfig['redis'] = null;
  if (options.redis !== undefined && options.redis !== null) {
    const url = str(redisInput.url, 'redis.url', '');
    if (!/^rediss?:\/\/[^\s]+$/.test(url)) throw new ConfigError('redis.url', `must be a redis:// or rediss:// URL, got ${show(redisInput.url)}`);
    redis = { url, prefix: str(redisInput.prefix, 'redis.prefix', 'actorgate:') };
  }
  const topics = section(options.topics, 'topics');
  checkKeys(topics, SECTION_KEYS.topics, 'topics');
  const limits = section(options.limits, 'limits');
  checkKeys(limits, SECTION_KEYS.limits, 'limits');
  const backend = section(options.backend, 'backend');
  checkKeys(backend, SECTION_KEYS.backend, 'backend');
  const log = section(options.log, 'log');
  checkKeys(log, SECTION_KEYS.log, 'log');
  const shutdown = section(options.shutdown, 'shutdown');
  checkKeys(shutdown, SECTION_KEYS.shutdown, 'shutdown');
  const restart = section(options.restart, 'restart');
  checkKeys(restart, SECTION_KEYS.restart, 'restart');

  const allow = topics.allow ?? [];
  if (!Array.isArray(allow) || allow.some((p) => typeof p !== 'string' || p.length === 0)) throw new ConfigError('topics.allow', 'must be an array of non-empty glob patterns');
  const level = str(log.level, 'log.level', defaultLog.level);
  if (!LOG_LEVELS.includes(level)) throw new ConfigError('log.level', `must be one of ${LOG_LEVELS.join(', ')}, got ${show(level)}`);
  const idleTimeoutMs = int(limits.idleTimeoutMs, 'limits.idleTimeoutMs', 0, 86_400_000, defaultLimits.idleTimeoutMs);
  const pingIntervalMs = int(limits.pingIntervalMs, 'limits.pingIntervalMs', 0, 86_400_000, defaultLimits.pingIntervalMs);
  if (idleTimeoutMs !== 0 && pingIntervalMs >= idleTimeoutMs) throw new ConfigError('limits.pingIntervalMs', `must be below limits.idleTimeoutMs (${idleTimeoutMs}) so a live client can answer in time`);
  const adminPort = admin.port === null ? null : int(admin.port, 'admin.port', 0, 65535, 7001);
  const reconnectInitialMs = int(backend.reconnectInitialMs, 'backend.reconnectInitialMs', 1, 3_600_000, defaultBackend.reconnectInitialMs);
  const reconnectMaxMs = int(backend.reconnectMaxMs, 'backend.reconnectMaxMs', 1, 3_600_000, defaultBackend.reconnectMaxMs);
  if (reconnectMaxMs < reconnectInitialMs) throw new ConfigError('backend.reconnectMaxMs', `must be ≥ backend.reconnectInitialMs (${reconnectInitialMs})`);

  const restartInitialMs = int(restart.initialMs, 'restart.initialMs', 1, 600_000, defaultRestart.initialMs);
  const restartMaxMs = int(restart.maxMs, 'restart.maxMs', 1, 3_600_000, defaultRestart.maxMs);
  if (restartMaxMs < restartInitialMs) throw new ConfigError('restart.maxMs', `must be ≥ restart.initialMs (${restartInitialMs})`);

  const config: ResolvedConfig = {
    name: str(options.name, 'name', hostname()),
    nodeId: int(options.nodeId, 'nodeId', 0, MAX_NODE_ID, randomInt(0, MAX_NODE_ID + 1)),
    workers: int(options.workers, 'workers', 1, MAX_WORKERS, Math.min(availableParallelism(), MAX_WORKERS)),
    listen: { host: str(listen.host, 'listen.host', '0.0.0.0'), port: int(listen.port, 'listen.port', 0, 65535, 7000) },
    admin: { host: str(admin.host, 'admin.host', '127.0.0.1'), port: adminPort },
    push: { host: str(push.host, 'push.host', '127.0.0.1'), port: push.port === null ? null : int(push.port, 'push.port', 0, 65535, 7002) },
    redis,
    routes: validateRoutes(options.routes),
    topics: { allow: [...(allow as string[])] },
    limits: {
      maxConnectionsPerWorker: int(limits.maxConnectionsPerWorker, 'limits.maxConnectionsPerWorker', 1, 10_000_000, defaultLimits.maxConnectionsPerWorker),
      maxPayloadBytes: int(limits.maxPayloadBytes, 'limits.maxPayloadBytes', 0, MAX_PAYLOAD_BYTES, defaultLimits.maxPayloadBytes),
      clientSendBufferBytes: int(limits.clientSendBufferBytes, 'limits.clientSendBufferBytes', 1024, 1 << 30, defaultLimits.clientSendBufferBytes),
      maxViolations: int(limits.maxViolations, 'limits.maxViolations', 0, 1_000_000, defaultLimits.maxViolations),
      violationWindowMs: int(limits.violationWindowMs, 'limits.violationWindowMs', 1, 86_400_000, defaultLimits.violationWindowMs),
      maxSubscriptionsPerSession: int(limits.maxSubscriptionsPerSession, 'limits.maxSubscriptionsPerSession', 0, 100_000, defaultLimits.maxSubscriptionsPerSession),
      idleTimeoutMs,
      pingIntervalMs,
      slowConsumerGraceMs: int(limits.slowConsumerGraceMs, 'limits.slowConsumerGraceMs', 0, 3_600_000, defaultLimits.slowConsumerGraceMs),
    },
    backend: {
      mailboxCapacity: int(backend.mailboxCapacity, 'backend.mailboxCapacity', 1, 10_000_000, defaultBackend.mailboxCapacity),
      maxBatchPackets: int(backend.maxBatchPackets, 'backend.maxBatchPackets', 1, 100_000, defaultBackend.maxBatchPackets),
      maxBatchBytes: int(backend.maxBatchBytes, 'backend.maxBatchBytes', 1024, 64 << 20, defaultBackend.maxBatchBytes),
      reconnectInitialMs,
      reconnectMaxMs,
      reconnectMultiplier: num(backend.reconnectMultiplier, 'backend.reconnectMultiplier', 1, defaultBackend.reconnectMultiplier),
      keepaliveMs: int(backend.keepaliveMs, 'backend.keepaliveMs', 1000, 3_600_000, defaultBackend.keepaliveMs),
      keepaliveTimeoutMs: int(backend.keepaliveTimeoutMs, 'backend.keepaliveTimeoutMs', 100, 3_600_000, defaultBackend.keepaliveTimeoutMs),
      flowControlWindowBytes: int(backend.flowControlWindowBytes, 'backend.flowControlWindowBytes', 65_535, 2 ** 31 - 1, defaultBackend.flowControlWindowBytes),
      notifyTimeoutMs: int(backend.notifyTimeoutMs, 'backend.notifyTimeoutMs', 1, 600_000, defaultBackend.notifyTimeoutMs),
      maxQueueAgeMs: int(backend.maxQueueAgeMs, 'backend.maxQueueAgeMs', 1, 3_600_000, defaultBackend.maxQueueAgeMs),
      circuitFailureThreshold: int(backend.circuitFailureThreshold, 'backend.circuitFailureThreshold', 1, 1_000_000, defaultBackend.circuitFailureThreshold),
      circuitOpenMs: int(backend.circuitOpenMs, 'backend.circuitOpenMs', 1, 3_600_000, defaultBackend.circuitOpenMs),
      writeStallMs: int(backend.writeStallMs, 'backend.writeStallMs', 1, 3_600_000, defaultBackend.writeStallMs),
      failoverAfterMs: int(backend.failoverAfterMs, 'backend.failoverAfterMs', 1, 86_400_000, defaultBackend.failoverAfterMs),
    },
    log: {
      level,
      destination: str(log.destination, 'log.destination', defaultLog.destination),
      maxBufferBytes: int(log.maxBufferBytes, 'log.maxBufferBytes', 65_536, 1 << 30, defaultLog.maxBufferBytes),
    },
    shutdown: {
      drainTimeoutMs: int(shutdown.drainTimeoutMs, 'shutdown.drainTimeoutMs', 0, 3_600_000, defaultShutdown.drainTimeoutMs),
      flushTimeoutMs: int(shutdown.flushTimeoutMs, 'shutdown.flushTimeoutMs', 0, 600_000, defaultShutdown.flushTimeoutMs),
    },
    restart: { initialMs: restartInitialMs, maxMs: restartMaxMs },
    faultInjection: bool(options.faultInjection, 'faultInjection', false),
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Every distinct endpoint in the route table, in first-seen order; its index is the endpoint's metrics slot. */
export function endpointsOf(config: Pick<ResolvedConfig, 'routes'>): string[] {
  return [...new Set(config.routes.flatMap((rule) => rule.endpoints))];
}
