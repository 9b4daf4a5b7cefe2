/**
 * The gateway's options as types: the config-file shape (`GatewayOptions`, every field with its TSDoc `@default`) and
 * the frozen, resolved form every thread gets (`ResolvedConfig`). `resolveConfig()` in options.ts checks one into the
 * other.
 */
import type { AuthOptions, ResolvedAuth } from './options-auth.ts';
import type { ResolvedTls, TlsOptions } from './options-tls.ts';
import type { AccessLogOptions, TracingOptions } from './options-observability.ts';

export type { AccessLogOptions, TracingOptions } from './options-observability.ts';

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
  /**
   * DATA messages one session may hold in one endpoint's mailbox (1 to `mailboxCapacity`); past it that session's
   * messages get BACKEND_OVERLOADED while the others' are still taken. 0 (the default) resolves to a quarter of
   * `mailboxCapacity`, rounded up, so a flooding session leaves three quarters of the mailbox to the rest.
   * @default 0 (mailboxCapacity / 4)
   */
  maxQueuedPerSession: number;
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
  accessLog?: Partial<AccessLogOptions>;
  /** Trace context propagation and span export. */
  tracing?: Partial<TracingOptions>;
  /** What /metrics measures beyond its counters. */
  metrics?: {
    /**
     * One client message, backend packet and push in this many is timed through each stage it passes, into the
     * actorgate_stage_*_seconds histograms (a countdown: no random draw per message); 0 turns them off. @default 64
     */
    stageSampleEvery?: number;
  };
  shutdown?: {
    /**
     * The whole drain's hard cap, counted from drain(): the pre-drain delay, then the window; at its end every session
     * still open is closed with DRAINED. @default 10000
     */
    drainTimeoutMs?: number;
    /**
     * Each session's DRAIN names its own reconnectAfterMs, spread evenly over this window across all workers, and a
     * session still open at its time is closed with DRAINED then. 0: every client gets DRAIN at once, the rest are
     * closed at drainTimeoutMs. Cut to `drainTimeoutMs - preDrainDelayMs` when longer. @default 5000
     */
    drainWindowMs?: number;
    /**
     * From drain() /ready answers 503 at once, but the first DRAIN waits this long, so a load balancer can take the
     * instance out first; connections are still accepted meanwhile. At most drainTimeoutMs. @default 0
     */
    preDrainDelayMs?: number;
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
  readonly accessLog: Readonly<AccessLogOptions>;
  readonly tracing: Readonly<Omit<TracingOptions, 'otlpHeaders'>> & { readonly otlpHeaders: readonly string[] };
  readonly metrics: { readonly stageSampleEvery: number };
  readonly shutdown: {
    readonly drainTimeoutMs: number;
    readonly drainWindowMs: number;
    readonly preDrainDelayMs: number;
    readonly flushTimeoutMs: number;
  };
  readonly restart: { readonly initialMs: number; readonly maxMs: number };
  readonly control: Readonly<ControlOptions>;
  readonly auth: ResolvedAuth | null;
  readonly faultInjection: boolean;
}
