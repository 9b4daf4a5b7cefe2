/**
 * How a config value is checked: one checker per field kind, each naming the bad field in its `ConfigError`;
 * `settingValue()`, which applies the checker a row of the settings table names; and the route rule and route table
 * checks. `resolveConfig()` in `options.ts` composes these.
 */
import { ConfigError } from './errors.ts';
import type { RouteRule } from './options.ts';
import type { SettingRow, SettingValue } from './settings-table.ts';

type Obj = Record<string, unknown>;

/** A value as it appears in an error message; never throws (JSON.stringify does on a bigint). */
export function show(value: unknown): string {
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
  }
}

const ENDPOINT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export function validateEndpoint(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ConfigError(field, `must be a "host:port" string, got ${show(value)}`);
  const match = ENDPOINT.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new ConfigError(field, `must be "host:port", got ${show(value)}`);
  return value;
}

export const ROUTE_KEYS = ['serverType', 'worldId', 'instId', 'endpoints', 'strategy', 'hashBy', 'notify', 'authorizeTopics'] as const;

export function validateRoute(value: unknown, field: string): Required<RouteRule> {
  if (!isObject(value)) throw new ConfigError(field, 'must be an object');
  checkKeys(value, ROUTE_KEYS, field);
  if (value.serverType === undefined) throw new ConfigError(`${field}.serverType`, 'is required');
  const serverType = int(value.serverType, `${field}.serverType`, 1, 255, 0);
  const worldId = int(value.worldId, `${field}.worldId`, 0, 0x7fff, 0);
  const instId = int(value.instId, `${field}.instId`, 0, 255, 0);
  if (!Array.isArray(value.endpoints) || value.endpoints.length === 0) throw new ConfigError(`${field}.endpoints`, 'must be a non-empty array of "host:port"');
  const endpoints = value.endpoints.map((endpoint, i) => validateEndpoint(endpoint, `${field}.endpoints[${i}]`));
  if (new Set(endpoints).size !== endpoints.length) throw new ConfigError(`${field}.endpoints`, 'lists an endpoint twice');
  const strategy = value.strategy === undefined ? 'round-robin' : value.strategy;
  if (strategy !== 'round-robin' && strategy !== 'consistent-hash') throw new ConfigError(`${field}.strategy`, `must be "round-robin" or "consistent-hash", got ${show(strategy)}`);
  const hashBy = value.hashBy === undefined ? 'session' : value.hashBy;
  if (hashBy !== 'session' && hashBy !== 'user') throw new ConfigError(`${field}.hashBy`, `must be "session" or "user", got ${show(hashBy)}`);
  const authorizeTopics = globs(value.authorizeTopics, `${field}.authorizeTopics`, []);
  return { serverType, worldId, instId, endpoints, strategy, hashBy, notify: bool(value.notify, `${field}.notify`, false), authorizeTopics };
}

/** Rejects two rules with the same (serverType, worldId, instId): neither would be "most specific". */
export function validateRoutes(value: unknown, field = 'routes'): Required<RouteRule>[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError(field, 'must be an array of route rules');
  const rules = value.map((rule, i) => validateRoute(rule, `${field}[${i}]`));
  const seen = new Map<string, number>();
  rules.forEach((rule, i) => {
    const key = `${rule.serverType}/${rule.worldId}/${rule.instId}`;
    const first = seen.get(key);
    if (first !== undefined) throw new ConfigError(`${field}[${i}]`, `matches the same (serverType, worldId, instId) as ${field}[${first}]`);
    seen.set(key, i);
  });
  return rules;
}
