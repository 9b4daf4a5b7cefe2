/**
 * How a config value is checked: one checker per field kind, each naming the bad field in its `ConfigError`, and the
 * route rule and route table checks built from them. `resolveConfig()` in `options.ts` composes these.
 */
import { ConfigError } from './errors.ts';
import type { RouteRule } from './options.ts';

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

export function int(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new ConfigError(field, `must be an integer, got ${show(value)}`);
  if (value < min || value > max) throw new ConfigError(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function num(value: unknown, field: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new ConfigError(field, `must be a number ≥ ${min}, got ${show(value)}`);
  return value;
}

export function str(value: unknown, field: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(field, `must be a non-empty string, got ${show(value)}`);
  return value;
}

export function bool(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(field, `must be true or false, got ${show(value)}`);
  return value;
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
  const authorizeTopics = value.authorizeTopics ?? [];
  if (!Array.isArray(authorizeTopics) || authorizeTopics.some((p) => typeof p !== 'string' || p.length === 0)) {
    throw new ConfigError(`${field}.authorizeTopics`, 'must be an array of non-empty glob patterns');
  }
  return { serverType, worldId, instId, endpoints, strategy, hashBy, notify: bool(value.notify, `${field}.notify`, false), authorizeTopics: [...(authorizeTopics as string[])] };
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
