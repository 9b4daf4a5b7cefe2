/**
 * The route document kept in Redis under `<prefix>routes` (docs/PROTOCOL.md §6, "Route tables"):
 *
 *   { "version": 7, "routes": [ ...route rules, as in the config file... ], "realms": { "12": ["10.0.0.5:7100"] } }
 *
 * `routes` is checked by the config file's own check (options-validate.ts `validateRoutes`), so a rule means the same
 * wherever it is written and a bad one is named the same way (`routes[2].endpoints[0]: ...`). `realms` maps a worldId
 * (1–32767) to the endpoint set of rules with `realm: true`.
 */
import { ConfigError } from '../core/errors.ts';
import type { RouteRule } from '../core/options.ts';
import { checkKeys, int, show, validateEndpoint, validateRoutes } from '../core/options-validate.ts';

export interface RouteDocument {
  readonly version: number;
  readonly routes: readonly Readonly<Required<RouteRule>>[];
  readonly realms: Readonly<Record<string, readonly string[]>>;
}

export const DOCUMENT_KEYS = ['version', 'routes', 'realms'] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a parsed document; a `ConfigError` names the bad field. A bare array is taken as `{ routes }`. */
export function validateRouteDocument(value: unknown, maxPayloadBytes = 65535): RouteDocument {
  const doc = Array.isArray(value) ? { routes: value } : value;
  if (!isObject(doc)) throw new ConfigError('document', `must be an object { version, routes, realms }, got ${show(value)}`);
  checkKeys(doc, DOCUMENT_KEYS, '');
  const version = int(doc.version, 'version', 0, Number.MAX_SAFE_INTEGER, 0);
  const routes = validateRoutes(doc.routes ?? [], 'routes', maxPayloadBytes);
  const realms: Record<string, string[]> = {};
  if (doc.realms !== undefined) {
    if (!isObject(doc.realms)) throw new ConfigError('realms', 'must be an object of worldId → endpoints');
    for (const [world, endpoints] of Object.entries(doc.realms)) {
      const field = `realms.${world}`;
      if (!/^[1-9]\d{0,4}$/.test(world) || Number(world) > 0x7fff) throw new ConfigError(field, 'the key must be a worldId, 1–32767');
      if (!Array.isArray(endpoints) || endpoints.length === 0) throw new ConfigError(field, 'must be a non-empty array of "host:port"');
      const list = endpoints.map((endpoint, i) => validateEndpoint(endpoint, `${field}[${i}]`));
      if (new Set(list).size !== list.length) throw new ConfigError(field, 'lists an endpoint twice');
      realms[world] = list;
    }
  }
  return { version, routes, realms };
}

/** Parses and checks a document's JSON text. */
export function parseRouteDocument(text: string, maxPayloadBytes = 65535): RouteDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('document', `is not JSON: ${(err as Error).message}`);
  }
  return validateRouteDocument(value, maxPayloadBytes);
}

/** A bad field's label for the refusal counter: indexes dropped, so the label set stays small. */
export function fieldLabel(field: string): string {
  return field.replace(/\[\d+\]/g, '[]').replace(/^realms\.\d+/, 'realms.*');
}
