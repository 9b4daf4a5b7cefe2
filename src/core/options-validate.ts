/**
 * How a config value is checked: one checker per field kind, each naming the bad field in its `ConfigError`;
 * `settingValue()`, which applies the checker a row of the settings table names; and the route rule and route table
 * checks. `resolveConfig()` in `options.ts` composes these.
 */
import { ConfigError } from './errors.ts';
import { apiKeyHashes } from './api-keys.ts';
import type { RouteRateLimit, RouteRule } from './options.ts';
import type { SettingRow, SettingValue } from './settings-table.ts';

type Obj = Record<string, unknown>;

/** A value as it appears in an error message; never throws (JSON.stringify does on a bigint). */
export function show(value: unknown): string {
  // JSON.stringify writes NaN and ±Infinity as null, which would name the wrong mistake.
  if (typeof value === 'number') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkKeys(value: Obj, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new ConfigError(field ? `${field}.${key}` : key, `unknown field (expected one of: ${allowed.join(', ')})`);
  }
}

export function section(value: unknown, field: string): Obj {
  if (value === undefined) return {};
  if (!isObject(value)) throw new ConfigError(field, 'must be an object');
  return value;
}

export function int<F = number>(value: unknown, field: string, min: number, max: number, fallback: F): number | F {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new ConfigError(field, `must be an integer, got ${show(value)}`);
  if (value < min || value > max) throw new ConfigError(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function num<F = number>(value: unknown, field: string, min: number, fallback: F): number | F {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new ConfigError(field, `must be a number ≥ ${min}, got ${show(value)}`);
  return value;
}

export function str<F = string>(value: unknown, field: string, fallback: F): string | F {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(field, `must be a non-empty string, got ${show(value)}`);
  return value;
}

export function bool<F = boolean>(value: unknown, field: string, fallback: F): boolean | F {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(field, `must be true or false, got ${show(value)}`);
  return value;
}

export function oneOf<F = string>(value: unknown, field: string, allowed: readonly string[], fallback: F): string | F {
  const text = str(value, field, fallback);
  if (typeof text === 'string' && !allowed.includes(text)) throw new ConfigError(field, `must be one of ${allowed.join(', ')}, got ${show(text)}`);
  return text;
}

/** A copy, so that freezing the resolved config never freezes the caller's array. */
export function globs(value: unknown, field: string, fallback: readonly string[]): string[] {
  const patterns = value ?? fallback;
  if (!Array.isArray(patterns) || patterns.some((p) => typeof p !== 'string' || p.length === 0)) throw new ConfigError(field, 'must be an array of non-empty glob patterns');
  return [...(patterns as string[])];
}

/** The value of one setting: its default when absent, null where the row allows it, else checked by the row's kind. */
export function settingValue(row: SettingRow, value: unknown): SettingValue {
  const fallback = typeof row.default === 'function' ? row.default() : row.default;
  if (value === null && row.nullable) return null;
  switch (row.kind) {
    case 'int':
      return int(value, row.path, row.min, row.max, fallback);
    case 'number':
      return num(value, row.path, row.min, fallback);
    case 'string':
      return str(value, row.path, fallback);
    case 'enum':
      return oneOf(value, row.path, row.values, fallback);
    case 'bool':
      return bool(value, row.path, fallback);
    case 'globs':
      return globs(value, row.path, (fallback ?? []) as readonly string[]);
    case 'keyHashes':
      return apiKeyHashes(value, row.path);
  }
}

/**
 * The gateway's name travels as the `gate-name` gRPC metadata of every backend stream, where grpc-js accepts only
 * printable ASCII (it throws on anything else, on the worker's loop, when the stream opens).
 */
export function gateName(value: string, field: string): string {
  if (!/^[\x20-\x7e]{1,255}$/.test(value)) throw new ConfigError(field, `must be 1–255 printable ASCII characters (it is sent as gRPC metadata), got ${show(value)}`);
  return value;
}

const ENDPOINT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
/** `dns:///name:port`: every address of the name is an endpoint (src/control/dns-endpoints.ts). */
export const DNS_ENDPOINT = /^dns:\/\/\/([A-Za-z0-9.-]+):(\d{1,5})$/;

export function validateEndpoint(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ConfigError(field, `must be a "host:port" string, got ${show(value)}`);
  const match = ENDPOINT.exec(value) ?? DNS_ENDPOINT.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new ConfigError(field, `must be "host:port" or "dns:///name:port", got ${show(value)}`);
  return value;
}

export const ROUTE_KEYS = ['serverType', 'worldId', 'instId', 'endpoints', 'strategy', 'hashBy', 'notify', 'authorizeTopics', 'rateLimit', 'realm'] as const;

export const ROUTE_RATE_KEYS = ['messagesPerSecond', 'messageBurst', 'bytesPerSecond', 'byteBurst'] as const;

/**
 * A rule's `rateLimit`, every field filled in. The buckets refill on the worker's coarse clock (steps of up to 100 ms),
 * so a burst must hold a tenth of its rate; a byte bucket must hold the largest message (`maxPayloadBytes` + 8).
 */
export function validateRouteRate(value: unknown, field: string, maxPayloadBytes: number): Required<RouteRateLimit> | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw new ConfigError(field, 'must be an object or null');
  checkKeys(value, ROUTE_RATE_KEYS, field);
  const messagesPerSecond = int(value.messagesPerSecond, `${field}.messagesPerSecond`, 0, 10_000_000, 0);
  const bytesPerSecond = int(value.bytesPerSecond, `${field}.bytesPerSecond`, 0, 2 ** 40, 0);
  if (messagesPerSecond === 0 && bytesPerSecond === 0) throw new ConfigError(field, 'needs messagesPerSecond or bytesPerSecond above 0');
  const largest = maxPayloadBytes + 8;
  const messageBurst = int(value.messageBurst, `${field}.messageBurst`, 1, 100_000_000, Math.max(1, messagesPerSecond));
  const byteBurst = int(value.byteBurst, `${field}.byteBurst`, 1, 2 ** 40, Math.max(bytesPerSecond, largest));
  if (messagesPerSecond > 0 && messageBurst < messagesPerSecond / 10) throw new ConfigError(`${field}.messageBurst`, `must be ≥ messagesPerSecond / 10 (${Math.ceil(messagesPerSecond / 10)}): rates refill in steps of up to 100 ms`);
  if (bytesPerSecond > 0 && byteBurst < Math.max(bytesPerSecond / 10, largest)) {
    throw new ConfigError(`${field}.byteBurst`, `must be ≥ bytesPerSecond / 10 and ≥ limits.maxPayloadBytes + 8 (${Math.ceil(Math.max(bytesPerSecond / 10, largest))})`);
  }
  return { messagesPerSecond, messageBurst, bytesPerSecond, byteBurst };
}

/** @param maxPayloadBytes `limits.maxPayloadBytes`, which a route's byte bucket must hold */
export function validateRoute(value: unknown, field: string, maxPayloadBytes = 65535): Required<RouteRule> {
  if (!isObject(value)) throw new ConfigError(field, 'must be an object');
  checkKeys(value, ROUTE_KEYS, field);
  if (value.serverType === undefined) throw new ConfigError(`${field}.serverType`, 'is required');
  const serverType = int(value.serverType, `${field}.serverType`, 1, 255, 0);
  const worldId = int(value.worldId, `${field}.worldId`, 0, 0x7fff, 0);
  const instId = int(value.instId, `${field}.instId`, 0, 255, 0);
  const realm = bool(value.realm, `${field}.realm`, false);
  if (realm && worldId !== 0) throw new ConfigError(`${field}.worldId`, 'must be 0 with realm: true (the realm of each world decides its endpoints)');
  const endpointList = realm && value.endpoints === undefined ? [] : value.endpoints;
  if (!Array.isArray(endpointList) || (endpointList.length === 0 && !realm)) throw new ConfigError(`${field}.endpoints`, 'must be a non-empty array of "host:port"');
  const endpoints = endpointList.map((endpoint, i) => validateEndpoint(endpoint, `${field}.endpoints[${i}]`));
  if (new Set(endpoints).size !== endpoints.length) throw new ConfigError(`${field}.endpoints`, 'lists an endpoint twice');
  const strategy = value.strategy === undefined ? 'round-robin' : value.strategy;
  if (strategy !== 'round-robin' && strategy !== 'consistent-hash') throw new ConfigError(`${field}.strategy`, `must be "round-robin" or "consistent-hash", got ${show(strategy)}`);
  const hashBy = value.hashBy === undefined ? 'session' : value.hashBy;
  if (hashBy !== 'session' && hashBy !== 'user') throw new ConfigError(`${field}.hashBy`, `must be "session" or "user", got ${show(hashBy)}`);
  const authorizeTopics = globs(value.authorizeTopics, `${field}.authorizeTopics`, []);
  const rateLimit = validateRouteRate(value.rateLimit, `${field}.rateLimit`, maxPayloadBytes);
  return { serverType, worldId, instId, endpoints, strategy, hashBy, notify: bool(value.notify, `${field}.notify`, false), authorizeTopics, rateLimit, realm };
}

/** Rejects two rules with the same (serverType, worldId, instId): neither would be "most specific". */
export function validateRoutes(value: unknown, field = 'routes', maxPayloadBytes = 65535): Required<RouteRule>[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError(field, 'must be an array of route rules');
  const rules = value.map((rule, i) => validateRoute(rule, `${field}[${i}]`, maxPayloadBytes));
  const seen = new Map<string, number>();
  rules.forEach((rule, i) => {
    const key = `${rule.serverType}/${rule.worldId}/${rule.instId}`;
    const first = seen.get(key);
    if (first !== undefined) throw new ConfigError(`${field}[${i}]`, `matches the same (serverType, worldId, instId) as ${field}[${first}]`);
    seen.set(key, i);
  });
  return rules;
}
