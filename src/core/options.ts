/**
 * Gateway options: `resolveConfig()`, which validates the config-file shape (options-types.ts). Scalar fields are
 * checked, and defaulted, from the rows of `settings-table.ts`; routes, the Redis section and relations between two
 * fields have their own checks here and in `options-validate.ts`. Validated once at start; the resolved config is
 * frozen and passed to every worker as plain data.
 */
import { ConfigError } from './errors.ts';
import { checkKeys, gateName, section, settingValue, show, validateRoutes } from './options-validate.ts';
import { sectionDefaults, sectionRows, SETTING_ROWS, splitPath, type SettingValue } from './settings-table.ts';
import { resolveAuth } from './options-auth.ts';
import { resolveTls } from './options-tls.ts';
import { resolveTracing } from './options-tracing.ts';
import { validateTrustedProxies } from './ip-address.ts';
import { HEADER_BYTES } from '../protocol/frame.ts';
import type { ResolvedRedis, LimitsOptions, BackendOptions, LogOptions, ResolvedConfig } from './options-types.ts';

export { ROUTE_KEYS, validateEndpoint, validateRoute, validateRoutes } from './options-validate.ts';
export { DEFAULT_PORTS } from './settings-table.ts';
export type {
  AccessLogOptions,
  BackendOptions,
  ControlOptions,
  GatewayOptions,
  LimitsOptions,
  LogOptions,
  RedisOptions,
  RegistryOptions,
  ResolvedConfig,
  ResolvedRedis,
  RouteRateLimit,
  RouteRule,
  RouteStrategy,
  TracingOptions,
} from './options-types.ts';

/** The defaults of each section, from the settings table (settings-table.ts). */
export const defaultLimits = sectionDefaults('limits') as Readonly<LimitsOptions>;
export const defaultBackend = resolvedBackendDefaults();
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
export const CONFIG_KEYS = ['name', 'nodeId', 'workers', 'listen', 'admin', 'push', 'redis', 'registry', 'routes', 'topics', 'limits', 'backend', 'log', 'accessLog', 'shutdown', 'restart', 'control', 'tracing', 'metrics', 'auth', 'faultInjection'] as const;

const SECTIONS = ['listen', 'admin', 'push', 'redis', 'registry', 'topics', 'limits', 'backend', 'log', 'accessLog', 'shutdown', 'restart', 'control', 'tracing', 'metrics'] as const;
type SectionName = (typeof SECTIONS)[number];
/** The sections that also take a structured `tls` field (options-tls.ts). */
const TLS_SECTIONS: readonly SectionName[] = ['listen', 'admin', 'push'];

/** The fields of each object-valued config section: its rows in the settings table. */
export const SECTION_KEYS = Object.freeze(
  Object.fromEntries(SECTIONS.map((name) => [name, Object.freeze(sectionRows(name).map((row) => splitPath(row.path)[1]))])),
) as Readonly<Record<SectionName, readonly string[]>>;

/** A session's share of the mailbox when none is set (0): a quarter of it, rounded up. */
export function defaultSessionShare(mailboxCapacity: number): number {
  return Math.ceil(mailboxCapacity / 4);
}

function resolvedBackendDefaults(): Readonly<BackendOptions> {
  const table = sectionDefaults('backend') as Readonly<BackendOptions>;
  return Object.freeze({ ...table, maxQueuedPerSession: defaultSessionShare(table.mailboxCapacity) });
}

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
  const capacity = value('backend.mailboxCapacity') as number;
  if ((value('backend.maxQueuedPerSession') as number) > capacity) {
    throw new ConfigError('backend.maxQueuedPerSession', `must be ≤ backend.mailboxCapacity (${capacity}): a session's share is part of the mailbox`);
  }
  if ((value('shutdown.preDrainDelayMs') as number) > (value('shutdown.drainTimeoutMs') as number)) {
    throw new ConfigError('shutdown.preDrainDelayMs', `must be ≤ shutdown.drainTimeoutMs (${value('shutdown.drainTimeoutMs') as number}): the timeout caps the whole drain`);
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
  if (values.get('backend.maxQueuedPerSession') === 0) values.set('backend.maxQueuedPerSession', defaultSessionShare(values.get('backend.mailboxCapacity') as number));
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
    accessLog: group('accessLog'),
    shutdown: group('shutdown'),
    restart: group('restart'),
    control: group('control'),
    tracing: resolveTracing(group('tracing')),
    metrics: group('metrics'),
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
