/**
 * Gateway options: the config-file shape and `resolveConfig()`, which validates it. Scalar fields are checked, and
 * defaulted, from the rows of `settings-table.ts`; routes, the Redis section and relations between two fields have
 * their own checks here and in `options-validate.ts`. Validated once at start; the resolved config is frozen and
 * passed to every worker as plain data.
 */
import { ConfigError } from './errors.ts';
import { checkKeys, gateName, section, settingValue, show, validateRoutes } from './options-validate.ts';
import { sectionDefaults, sectionRows, SETTING_ROWS, splitPath, type SettingValue } from './settings-table.ts';
import { resolveAuth, type AuthOptions, type ResolvedAuth } from './options-auth.ts';
import { resolveTls, type ResolvedTls, type TlsOptions } from './options-tls.ts';
import { validateTrustedProxies } from './ip-address.ts';
import { HEADER_BYTES } from '../protocol/frame.ts';

export { ROUTE_KEYS, validateEndpoint, validateRoute, validateRoutes } from './options-validate.ts';
export { DEFAULT_PORTS } from './settings-table.ts';

export type RouteStrategy = 'round-robin' | 'consistent-hash';

/** One routing rule. 0 or absent `worldId`/`instId` is a wildcard; the most specific rule wins. */
export interface RouteRule {
  serverType: number;
  /** @default 0 (any) */
  worldId?: number;
  /** @default 0 (any) */
  instId?: number;
  /**
   * `host:port` of each backend endpoint, or `dns:///name:port`: every address the name resolves to (re-resolved every
   * `control.dnsRefreshMs`). With `realm`, the endpoints of worlds no realm names (may be empty).
   */
  endpoints: string[];
  /**
   * Route by realm: the endpoints are the message's worldId's set in the route document's `realms` (Redis), falling
   * back to `endpoints`. Needs worldId 0 (the rule covers every world). @default false
   */
  realm?: boolean;
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
  /**
   * Per-session rates for the messages this rule routes, on top of the `limits` ones: each session has its own
   * buckets per rule; past them ERROR RATE_LIMITED. @default null (none)
   */
  rateLimit?: RouteRateLimit | null;
}

/** A route rule's per-session rates (token buckets); a rate of 0 (the default) is off, at least one must be on. */
export interface RouteRateLimit {
  /** @default 0 */
  messagesPerSecond?: number;
  /** At least messagesPerSecond / 10. @default messagesPerSecond (one second's worth) */
  messageBurst?: number;
  /** Bytes of whole WebSocket messages. @default 0 */
  bytesPerSecond?: number;
  /** At least bytesPerSecond / 10 and `limits.maxPayloadBytes` + 8. @default the larger of bytesPerSecond and maxPayloadBytes + 8 */
  byteBurst?: number;
}

/** The control plane: routes from Redis, endpoint sets from DNS (docs/PROTOCOL.md §6, "Route tables"). */
export interface ControlOptions {
  /** `config`: the config file's `routes`; `redis`: the `<prefix>routes` document, hot-reloaded (needs `redis`). @default 'config' */
  routes: 'config' | 'redis';
  /** The Redis document is re-read this often besides on its notification. @default 30000 */
  refreshMs: number;
  /** Where the last good Redis document is kept. @default `<os.tmpdir()>/actorgate-routes-<name>.json` */
  cacheFile: string | null;
  /** `dns:///name:port` endpoints are re-resolved this often. @default 5000 */
  dnsRefreshMs: number;
  /** DNS servers (`ip` or `ip:port`) for `dns:///` endpoints. @default [] (the system resolver, getaddrinfo) */
  dnsServers: string[];
  /** Distinct endpoints a dynamic table may hold (its metric slots are allocated at start). @default 256 */
  maxEndpoints: number;
}

/** One standalone server (`url`) or a Redis Cluster (`cluster`): exactly one of the two. */
export interface RedisOptions {
  /** `redis://[user:password@]host:port[/db]`: a standalone server; fan-out uses classic pub/sub. */
  url?: string;
  /**
   * Seed nodes (`host:port`) of a Redis Cluster (Redis 7 or later): fan-out uses sharded pub/sub (SSUBSCRIBE,
   * SPUBLISH), so each message travels only within the shard that owns its channel.
   */
  cluster?: string[];
  /** Prefix of every channel name. @default 'actorgate:' */
  prefix?: string;
  /**
   * Each worker publishes a probe to its own session channel this often and expects it back before the next one; a
   * missing probe is counted and the worker's Redis connections are replaced. 0: off; else at least 100. @default 5000
   */
  healthCheckMs?: number;
}

/** The resolved `redis` section: `url` (standalone) or `cluster` (seed `host:port`s), never both. */
export interface ResolvedRedis {
  readonly url: string | null;
  readonly cluster: readonly string[] | null;
  readonly prefix: string;
  readonly healthCheckMs: number;
}

/** The gateway registry entry (with `redis`): where clients and push clients reach this instance. */
export interface RegistryOptions {
  /** Host advertised in place of a wildcard `listen.host` or `push.host` (`0.0.0.0`, `::`). @default os.hostname() */
  advertiseHost: string;
  /** Client URLs advertised; [] derives one: `ws://` (or `wss://`) + the listen host (or `advertiseHost`) + `:` + the port + `/`. @default [] */
  clientUrls: string[];
  /** `host:port` advertised for the push port; null derives it. @default `push.host` (or `advertiseHost`) and the push port */
  pushAddress: string | null;
  /** An entry not refreshed this long expires; it is refreshed every third of it. @default 15000 */
  ttlMs: number;
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
  /** Connections of the whole process (all workers); upgrades past it get HTTP 503 TOO_MANY_CONNECTIONS; 0: no limit but the workers'. @default 0 */
  maxConnections: number;
  /**
   * Connections one client address holds on this process, across its workers (IPv6 addresses count by /64); upgrades
   * past it get HTTP 429 TOO_MANY_CONNECTIONS_PER_IP; 0: off. Behind a proxy, set `listen.trustProxy`, or every client
   * shares the proxy's address. @default 1000
   */
  maxConnectionsPerIp: number;
  /** Upgrades per second the process takes (token bucket); past it HTTP 503 TOO_MANY_UPGRADES; 0: off. @default 0 */
  upgradesPerSecond: number;
  /** Upgrades taken at once above `upgradesPerSecond`. @default 1000 */
  upgradeBurst: number;
  /** Upgrades per second from one client address (token bucket, across workers); past it HTTP 429 TOO_MANY_UPGRADES_PER_IP; 0: off. @default 200 */
  upgradesPerSecondPerIp: number;
  /** Upgrades taken at once from one address above `upgradesPerSecondPerIp`. @default 400 */
  upgradeBurstPerIp: number;
  /**
   * A TCP connection whose upgrade request has not arrived complete this long after it opened gets HTTP 408
   * HANDSHAKE_TIMEOUT and is closed (slow clients, slowloris); 0 leaves it to uWS's own timeout (about 10 s). @default 5000
   */
  handshakeTimeoutMs: number;
  /** Longest request target (path and query) of an upgrade; longer gets HTTP 414 URL_TOO_LONG. @default 2048 */
  maxUrlBytes: number;
  /**
   * Longest request head (request line and header fields); longer gets HTTP 431 HEADERS_TOO_LARGE. uWS itself
   * refuses a head over 4096 bytes that arrives in more than one read (docs/PROTOCOL.md §1). @default 4096
   */
  maxHeaderBytes: number;
  /** Most header fields in an upgrade request; more get HTTP 431 HEADERS_TOO_LARGE (uWS parses at most 98). @default 64 */
  maxHeaderFields: number;
  /** Client messages per second one session may send (token bucket); past it ERROR RATE_LIMITED; 0: off. @default 1000 */
  messagesPerSecond: number;
  /** Messages a session may send at once above `messagesPerSecond`. @default 2000 */
  messageBurst: number;
  /** Client bytes (whole WebSocket messages) per second one session may send; past it ERROR RATE_LIMITED; 0: off. @default 4194304 (4 MiB) */
  bytesPerSecond: number;
  /** Bytes a session may send at once above `bytesPerSecond`; at least `maxPayloadBytes` + 8. @default 8388608 (8 MiB) */
  byteBurst: number;
  /** A session refused RATE_LIMITED with no break of a second or more for this long is closed with RATE_LIMIT_EXCEEDED. @default 5000 */
  rateLimitCloseAfterMs: number;
  /** Client messages per second all sessions of one user (across the process's workers) may send together; past it ERROR RATE_LIMITED; 0: off. @default 0 */
  userMessagesPerSecond: number;
  /** Messages a user may send at once above `userMessagesPerSecond`. @default 2000 */
  userMessageBurst: number;
  /** Client bytes per second all sessions of one user may send together; past it ERROR RATE_LIMITED; 0: off. @default 0 */
  userBytesPerSecond: number;
  /** Bytes a user may send at once above `userBytesPerSecond`; at least `maxPayloadBytes` + 8. @default 8388608 (8 MiB) */
  userByteBurst: number;
  /**
   * Connections one user (the token's `sub`, `auth`) may hold across every instance sharing `redis`; upgrades past it
   * get HTTP 429 TOO_MANY_CONNECTIONS_PER_USER; anonymous sessions are not counted; 0: off. Needs `redis` and `auth`. @default 0
   */
  maxConnectionsPerUser: number;
  /** How long an upgrade waits for Redis to count its user's connections; past it `userConnectionsFailOpen` decides. @default 500 */
  userConnectionsTimeoutMs: number;
  /** When Redis cannot count the user's connections in time: admit the upgrade uncounted (true) or refuse it with HTTP 503 USER_LIMIT_UNAVAILABLE. @default true */
  userConnectionsFailOpen: boolean;
  /** How long the connections counted by an instance that died without closing keep counting (a lease refreshed every third of it). @default 30000 */
  userConnectionsLeaseMs: number;
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
  /**
   * fatal, error, warn, info, debug, trace or silent. An embedded gateway stays quiet on a host's stdout unless asked;
   * the `actorgate` command passes 'info', so it logs every connection open and close.
   * @default 'warn'
   */
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
  /** Gateway name (printable ASCII, 1–255 characters), sent as `gate-name` = `<name>/<worker>`. @default os.hostname() */
  name?: string;
  /**
   * This instance's node id in session ids (0–8191); each instance of a cluster needs its own.
   * @default with `redis`: a free id leased from Redis; without: random
   */
  nodeId?: number;
  /** Worker threads. @default os.availableParallelism() */
  workers?: number;
  /** @default { host: '0.0.0.0', port: 7000 }; port 0 picks one free port that all workers share */
  listen?: {
    host?: string;
    port?: number;
    /**
     * Addresses or CIDRs of the proxies in front of the gateway. A connection whose TCP peer is one of them takes its
     * client address from its PROXY protocol v2 header, else from `X-Forwarded-For` (the nearest address that is not
     * a trusted proxy); per-IP limits, logs and OPEN.remote_address use that address. @default [] (trust none)
     */
    trustProxy?: string[];
    /** Serve `wss://` (uWS's SSL app); reloaded by `reloadTls()` and SIGHUP. @default null (plain `ws://`) */
    tls?: TlsOptions | null;
  };
  /** Admin HTTP server (/health, /ready, /metrics); port null disables it. @default { host: '127.0.0.1', port: 7001 } */
  admin?: {
    host?: string;
    port?: number | null;
    /** Serve HTTPS. @default null */
    tls?: TlsOptions | null;
    /**
     * SHA-256 hashes of the keys (`"sha256:<64 hex>"`, from `actorgate hash-key`) that /metrics, /ready's worker list
     * and POST /v1/push (unless `push.apiKeys` is set) require, as `X-Api-Key` or `Authorization: Bearer`; /health stays
     * open. Several allow rotation. @default [] (open: keep `host` on loopback)
     */
    apiKeys?: string[];
  };
  /** gRPC GatewayPush server; port null disables it. @default { host: '127.0.0.1', port: 7002 } */
  push?: {
    host?: string;
    port?: number | null;
    /** Serve gRPC over TLS. @default null */
    tls?: TlsOptions | null;
    /**
     * SHA-256 hashes of the keys (`"sha256:<64 hex>"`) that Push, PushStream (metadata `x-api-key` or `authorization:
     * Bearer`) and POST /v1/push require. @default [] (open: keep `host` on loopback)
     */
    apiKeys?: string[];
  };
  /** Redis for fan-out across gateway instances; absent: everything stays within this instance. */
  redis?: RedisOptions | null;
  /** What this instance advertises in the gateway registry (with `redis`; docs/PROTOCOL.md, "Gateway registry"). */
  registry?: Partial<RegistryOptions>;
  routes?: RouteRule[];
  topics?: {
    /** Topics clients may subscribe to: glob patterns (`*` matches any run of characters). @default [] (none) */
    allow?: string[];
  };
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
  /** Where routes come from and how dynamic endpoints are followed (src/control/route-control.ts). */
  control?: Partial<ControlOptions>;
  restart?: {
    /** First delay before a failed worker is restarted; it doubles per quick failure. @default 100 */
    initialMs?: number;
    /** @default 5000 */
    maxMs?: number;
  };
  /** Authentication at the upgrade (JWT); absent or null: every client is accepted without a token. */
  auth?: AuthOptions | null;
  /** Test rigs only: lets the testkit inject a fault into a worker. @default false */
  faultInjection?: boolean;
}

export interface ResolvedConfig {
  readonly name: string;
  readonly nodeId: number;
  readonly workers: number;
  readonly listen: { readonly host: string; readonly port: number; readonly trustProxy: readonly string[]; readonly tls: ResolvedTls | null };
  readonly admin: { readonly host: string; readonly port: number | null; readonly tls: ResolvedTls | null; readonly apiKeys: readonly string[] };
  readonly push: { readonly host: string; readonly port: number | null; readonly tls: ResolvedTls | null; readonly apiKeys: readonly string[] };
  readonly redis: ResolvedRedis | null;
  readonly registry: Readonly<RegistryOptions>;
  readonly routes: readonly Required<RouteRule>[];
  readonly topics: { readonly allow: readonly string[] };
  readonly limits: Readonly<LimitsOptions>;
  readonly backend: Readonly<BackendOptions>;
  readonly log: Readonly<LogOptions>;
  readonly shutdown: { readonly drainTimeoutMs: number; readonly flushTimeoutMs: number };
  readonly restart: { readonly initialMs: number; readonly maxMs: number };
  readonly control: Readonly<ControlOptions>;
  readonly auth: ResolvedAuth | null;
  readonly faultInjection: boolean;
}

/** The defaults of each section, from the settings table (settings-table.ts). */
export const defaultLimits = sectionDefaults('limits') as Readonly<LimitsOptions>;
export const defaultBackend = sectionDefaults('backend') as Readonly<BackendOptions>;
/** The library's log defaults (level warn: quiet when embedded); the `actorgate` command logs at info. */
export const defaultLog = sectionDefaults('log') as Readonly<LogOptions>;
export const defaultShutdown = sectionDefaults('shutdown') as Readonly<ResolvedConfig['shutdown']>;
export const defaultRestart = sectionDefaults('restart') as Readonly<ResolvedConfig['restart']>;

/**
 * A closing worker's deadlines past `shutdown.flushTimeoutMs`. After the first, the worker's own watchdog closes its
 * uWS app synchronously and reports closed; after the second, the supervisor stops waiting for a worker that never
 * reported (its loop is wedged) and leaves the thread alone: terminating a thread whose app is open aborts the process.
 */
export const CLOSE_WATCHDOG_SLACK_MS = 1000;
export const CLOSE_ABANDON_SLACK_MS = 5000;

/** Every top-level config field. */
export const CONFIG_KEYS = ['name', 'nodeId', 'workers', 'listen', 'admin', 'push', 'redis', 'registry', 'routes', 'topics', 'limits', 'backend', 'log', 'shutdown', 'restart', 'control', 'auth', 'faultInjection'] as const;

const SECTIONS = ['listen', 'admin', 'push', 'redis', 'registry', 'topics', 'limits', 'backend', 'log', 'shutdown', 'restart', 'control'] as const;
type SectionName = (typeof SECTIONS)[number];
/** The sections that also take a structured `tls` field (options-tls.ts). */
const TLS_SECTIONS: readonly SectionName[] = ['listen', 'admin', 'push'];

/** The fields of each object-valued config section: its rows in the settings table. */
export const SECTION_KEYS = Object.freeze(
  Object.fromEntries(SECTIONS.map((name) => [name, Object.freeze(sectionRows(name).map((row) => splitPath(row.path)[1]))])),
) as Readonly<Record<SectionName, readonly string[]>>;

/** Relations between two fields, which no single row can check. */
function checkRelations(value: (path: string) => unknown): void {
  const idle = value('limits.idleTimeoutMs') as number;
  if (idle !== 0 && (value('limits.pingIntervalMs') as number) >= idle) {
    throw new ConfigError('limits.pingIntervalMs', `must be below limits.idleTimeoutMs (${idle}) so a live client can answer in time`);
  }
  for (const [initial, max] of [['backend.reconnectInitialMs', 'backend.reconnectMaxMs'], ['restart.initialMs', 'restart.maxMs']] as const) {
    if ((value(max) as number) < (value(initial) as number)) throw new ConfigError(max, `must be ≥ ${initial} (${value(initial) as number})`);
  }
  // A session's buckets refill on its worker's coarse clock, in steps of up to 100 ms: a burst below a tenth of the
  // rate would cap the rate below what is configured. And a byte bucket smaller than one message never lets it pass.
  for (const [rate, burst] of [['limits.messagesPerSecond', 'limits.messageBurst'], ['limits.bytesPerSecond', 'limits.byteBurst']] as const) {
    const perSecond = value(rate) as number;
    if (perSecond > 0 && (value(burst) as number) < perSecond / 10) throw new ConfigError(burst, `must be ≥ ${rate} / 10 (${Math.ceil(perSecond / 10)}): rates refill in steps of up to 100 ms`);
  }
  const largest = (value('limits.maxPayloadBytes') as number) + HEADER_BYTES;
  for (const [rate, burst] of [['limits.bytesPerSecond', 'limits.byteBurst'], ['limits.userBytesPerSecond', 'limits.userByteBurst']] as const) {
    if ((value(rate) as number) > 0 && (value(burst) as number) < largest) {
      throw new ConfigError(burst, `must be ≥ limits.maxPayloadBytes + ${HEADER_BYTES} (${largest}), or the largest message could never pass`);
    }
  }
  validateTrustedProxies(value('listen.trustProxy') as readonly string[], 'listen.trustProxy');
  (value('registry.clientUrls') as readonly string[]).forEach((url, i) => {
    if (!/^wss?:\/\/[^\s/]+/.test(url)) throw new ConfigError(`registry.clientUrls[${i}]`, `must be a ws:// or wss:// URL, got ${show(url)}`);
  });
  const pushAddress = value('registry.pushAddress');
  if (typeof pushAddress === 'string' && !/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(pushAddress)) {
    throw new ConfigError('registry.pushAddress', `must be host:port ([addr]:port for IPv6), got ${show(pushAddress)}`);
  }
}

/** Validates user options (config file, env, flags or library call merged) and returns the frozen config. */
export function resolveConfig(input: unknown): ResolvedConfig {
  const options = section(input, 'options');
  checkKeys(options, CONFIG_KEYS, '');
  const sections = {} as Record<SectionName, Record<string, unknown>>;
  for (const name of SECTIONS) {
    // "redis": null means no Redis, as absent does.
    const value = name === 'redis' && options.redis === null ? {} : section(options[name], name);
    checkKeys(value, TLS_SECTIONS.includes(name) ? [...SECTION_KEYS[name], 'tls'] : SECTION_KEYS[name], name);
    sections[name] = value;
  }
  const values = new Map<string, SettingValue>();
  for (const row of SETTING_ROWS) {
    const [name, key] = splitPath(row.path);
    if (row.path === 'redis.url' || row.path === 'redis.cluster') continue; // checked below, with the section's presence
    values.set(row.path, settingValue(row, name === undefined ? options[key] : sections[name as SectionName][key]));
  }
  checkRelations((path) => values.get(path));
  const group = <T>(name: SectionName): T => Object.fromEntries(sectionRows(name).map((row) => [splitPath(row.path)[1], values.get(row.path)])) as T;

  let redis: ResolvedConfig['redis'] = null;
  if (options.redis !== undefined && options.redis !== null) {
    const healthCheckMs = values.get('redis.healthCheckMs') as number;
    // The probe's publish times out after one period: shorter than this, a busy Redis would look silent.
    if (healthCheckMs > 0 && healthCheckMs < 100) throw new ConfigError('redis.healthCheckMs', `must be 0 (off) or at least 100, got ${healthCheckMs}`);
    redis = { ...redisTarget(sections.redis.url, sections.redis.cluster), prefix: values.get('redis.prefix') as string, healthCheckMs };
  }
  const config: ResolvedConfig = {
    name: gateName(values.get('name') as string, 'name'),
    nodeId: values.get('nodeId') as number,
    workers: values.get('workers') as number,
    listen: { ...group<Omit<ResolvedConfig['listen'], 'tls'>>('listen'), tls: resolveTls(sections.listen.tls, 'listen.tls') },
    admin: { ...group<Omit<ResolvedConfig['admin'], 'tls'>>('admin'), tls: resolveTls(sections.admin.tls, 'admin.tls') },
    push: { ...group<Omit<ResolvedConfig['push'], 'tls'>>('push'), tls: resolveTls(sections.push.tls, 'push.tls') },
    redis,
    registry: group('registry'),
    routes: validateRoutes(options.routes, 'routes', values.get('limits.maxPayloadBytes') as number),
    topics: { allow: [...(values.get('topics.allow') as string[])] },
    limits: group('limits'),
    backend: group('backend'),
    log: group('log'),
    shutdown: group('shutdown'),
    restart: group('restart'),
    control: group('control'),
    auth: resolveAuth(options.auth),
    faultInjection: values.get('faultInjection') as boolean,
  };
  if (config.control.routes === 'redis' && config.redis === null) throw new ConfigError('control.routes', '"redis" needs redis.url');
  if (config.limits.maxConnectionsPerUser > 0 && (config.redis === null || config.auth === null)) {
    throw new ConfigError('limits.maxConnectionsPerUser', 'needs redis (the count spans instances) and auth (the user comes from the token)');
  }
  if (config.limits.maxConnectionsPerUser > 0 && config.redis?.cluster != null) {
    throw new ConfigError('limits.maxConnectionsPerUser', 'needs a standalone Redis (redis.url): its count scripts read keys across slots, which Redis Cluster refuses');
  }
  return deepFreeze(config);
}

/** `redis.url` or `redis.cluster`, exactly one; a cluster seed is `host:port`. */
function redisTarget(url: unknown, cluster: unknown): Pick<ResolvedRedis, 'url' | 'cluster'> {
  if (url !== undefined && url !== null && cluster !== undefined && cluster !== null) throw new ConfigError('redis.cluster', 'give redis.url (a standalone server) or redis.cluster (seed nodes), not both');
  if (cluster === undefined || cluster === null) {
    if (typeof url !== 'string' || !/^rediss?:\/\/[^\s]+$/.test(url)) throw new ConfigError('redis.url', `must be a redis:// or rediss:// URL (or give redis.cluster), got ${show(url)}`);
    return { url, cluster: null };
  }
  if (!Array.isArray(cluster) || cluster.length === 0) throw new ConfigError('redis.cluster', `must be a non-empty array of "host:port" seed nodes, got ${show(cluster)}`);
  cluster.forEach((seed, i) => {
    const port = typeof seed === 'string' ? /^[^\s:]+:(\d{1,5})$/.exec(seed)?.[1] : undefined;
    if (port === undefined || Number(port) < 1 || Number(port) > 65535) throw new ConfigError(`redis.cluster[${i}]`, `must be "host:port", got ${show(seed)}`);
  });
  return { url: null, cluster: [...(cluster as string[])] };
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
