/** The push client's options, their defaults and their one validation (each failure names the field). */
import { ConfigError } from '../core/errors.ts';
import type { BackoffPolicy } from '../core/backoff.ts';
import type { PushClientEvent } from './push-client-events.ts';

/** TLS towards gateways whose push port serves it (`push.tls`; the registry entry says `pushTls`). */
export interface PushClientTls {
  /** PEM CA certificates the gateways' certificates chain to. @default the system's roots */
  ca?: string | Buffer;
  /** PEM client certificate, for gateways with `push.tls.ca` (mutual TLS); needs `key`. */
  cert?: string | Buffer;
  /** PEM private key of `cert`. */
  key?: string | Buffer;
}

export interface PushClientOptions {
  /** The gateways' Redis: `url` (standalone) or `cluster` (seed `host:port`s), and their `redis.prefix`. */
  redis: { url?: string; cluster?: string[]; prefix?: string };
  /** Sent as metadata `x-api-key` on every stream (gateways with `push.apiKeys`). @default none */
  apiKey?: string;
  /** TLS options for gateways with `push.tls`. @default system roots, no client certificate */
  tls?: PushClientTls;
  /**
   * User and topic pushes: `direct` writes each to every live gateway's stream (each delivers locally, never
   * through Redis); `redis` publishes it once on the user or topic channel, which every gateway's workers with a
   * matching session receive. @default 'direct'
   */
  fanout?: 'direct' | 'redis';
  /**
   * Session pushes: `direct` writes each to the stream of the gateway its id names; `redis` publishes it on that
   * gateway's session channel (the path a push took before this client; kept for comparison). @default 'direct'
   */
  sessions?: 'direct' | 'redis';
  /**
   * A session push whose gateway is not in the registry, is draining, or has no push address: `redis` publishes it
   * on the owner's session channel (reaching it if it is still there); `drop` drops it (reason `no-gateway`). @default 'redis'
   */
  unreachableOwner?: 'redis' | 'drop';
  /** Pushes one gateway's link holds while its stream is down; past it new ones are dropped (`overflow`). @default 4096 */
  maxBuffered?: number;
  /** A push held longer than this while its gateway's stream is down is dropped (`expired`). @default 2000 */
  maxBufferAgeMs?: number;
  /** Pushes per PushBatch written. @default 512 */
  maxBatchPushes?: number;
  /** Reconnect backoff of a broken stream, full jitter (core/backoff.ts). @default { initialMs: 100, maxMs: 5000, multiplier: 2 } */
  reconnect?: Partial<BackoffPolicy>;
  /** The registry is read again this often (instances that died without leaving expire by TTL, unannounced). @default 2000 */
  refreshMs?: number;
  /** Told about drops and gateways coming and going. */
  onEvent?: (event: PushClientEvent) => void;
}

export interface ResolvedPushClientOptions {
  readonly redis: { readonly url: string | null; readonly cluster: readonly string[] | null; readonly prefix: string };
  readonly apiKey: string | null;
  readonly tls: PushClientTls;
  readonly fanout: 'direct' | 'redis';
  readonly sessions: 'direct' | 'redis';
  readonly unreachableOwner: 'redis' | 'drop';
  readonly maxBuffered: number;
  readonly maxBufferAgeMs: number;
  readonly maxBatchPushes: number;
  readonly reconnect: Readonly<BackoffPolicy>;
  readonly refreshMs: number;
  readonly onEvent: (event: PushClientEvent) => void;
}

const DEFAULTS = Object.freeze({
  fanout: 'direct',
  sessions: 'direct',
  unreachableOwner: 'redis',
  maxBuffered: 4096,
  maxBufferAgeMs: 2000,
  maxBatchPushes: 512,
  refreshMs: 2000,
  reconnect: Object.freeze({ initialMs: 100, maxMs: 5000, multiplier: 2 }),
} as const);

function positiveInt(value: number | undefined, field: string, fallback: number, max = 1e9): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw new ConfigError(field, `must be an integer between 1 and ${max}, got ${String(value)}`);
  return value;
}

function oneOf<T extends string>(value: T | undefined, field: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) throw new ConfigError(field, `must be one of ${allowed.join(', ')}, got ${String(value)}`);
  return value;
}

export function resolvePushClientOptions(options: PushClientOptions): ResolvedPushClientOptions {
  const redis = options?.redis;
  if (typeof redis !== 'object' || redis === null) throw new ConfigError('redis', 'is required: { url } or { cluster }');
  if ((redis.url === undefined) === (redis.cluster === undefined)) throw new ConfigError('redis', 'give redis.url or redis.cluster, exactly one');
  if (redis.url !== undefined && !/^rediss?:\/\/\S+$/.test(redis.url)) throw new ConfigError('redis.url', `must be a redis:// or rediss:// URL, got ${redis.url}`);
  if (redis.cluster !== undefined && (!Array.isArray(redis.cluster) || redis.cluster.length === 0 || !redis.cluster.every((s) => /^\S+:\d+$/.test(s)))) throw new ConfigError('redis.cluster', 'must be a non-empty array of host:port');
  if (options.apiKey !== undefined && (typeof options.apiKey !== 'string' || options.apiKey === '')) throw new ConfigError('apiKey', 'must be a non-empty string');
  const reconnect = { ...DEFAULTS.reconnect, ...options.reconnect };
  positiveInt(reconnect.initialMs, 'reconnect.initialMs', 1, 3_600_000);
  positiveInt(reconnect.maxMs, 'reconnect.maxMs', 1, 3_600_000);
  if (reconnect.maxMs < reconnect.initialMs) throw new ConfigError('reconnect.maxMs', 'must be ≥ reconnect.initialMs');
  if (!(reconnect.multiplier >= 1)) throw new ConfigError('reconnect.multiplier', 'must be a number ≥ 1');
  if (options.tls?.cert !== undefined && options.tls.key === undefined) throw new ConfigError('tls.key', 'is required with tls.cert');
  return Object.freeze({
    redis: Object.freeze({ url: redis.url ?? null, cluster: redis.cluster === undefined ? null : Object.freeze([...redis.cluster]), prefix: redis.prefix ?? 'actorgate:' }),
    apiKey: options.apiKey ?? null,
    tls: Object.freeze({ ...options.tls }),
    fanout: oneOf(options.fanout, 'fanout', ['direct', 'redis'], DEFAULTS.fanout),
    sessions: oneOf(options.sessions, 'sessions', ['direct', 'redis'], DEFAULTS.sessions),
    unreachableOwner: oneOf(options.unreachableOwner, 'unreachableOwner', ['redis', 'drop'], DEFAULTS.unreachableOwner),
    maxBuffered: positiveInt(options.maxBuffered, 'maxBuffered', DEFAULTS.maxBuffered),
    maxBufferAgeMs: positiveInt(options.maxBufferAgeMs, 'maxBufferAgeMs', DEFAULTS.maxBufferAgeMs, 3_600_000),
    maxBatchPushes: positiveInt(options.maxBatchPushes, 'maxBatchPushes', DEFAULTS.maxBatchPushes, 100_000),
    reconnect: Object.freeze(reconnect),
    refreshMs: positiveInt(options.refreshMs, 'refreshMs', DEFAULTS.refreshMs, 3_600_000),
    onEvent: options.onEvent ?? (() => {}),
  });
}
