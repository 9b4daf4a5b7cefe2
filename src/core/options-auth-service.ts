/**
 * `auth.service`: delegated authentication, an auth service the gateway asks over gRPC (proto/auth.proto) instead of
 * verifying JWTs itself. Its scalars are rows like the rest of the section (options-auth.ts `AUTH_ROWS`), so each has a
 * flag (`--auth-service-endpoint`) and an `ACTORGATE_*` variable.
 */
import { ConfigError } from './errors.ts';
import { checkKeys, section, settingValue, validateEndpoint } from './options-validate.ts';
import { HOUR_MS, type SettingRow } from './settings-table.ts';
import { Code } from '../protocol/codes.ts';

export interface AuthServiceOptions {
  /** `host:port` of the service implementing `actorgate.v1.GatewayAuth`. */
  endpoint: string;
  /** Deadline of one Authenticate call. @default 1000 */
  timeoutMs?: number;
  /** Request headers passed to the service (lower-case names, at most 16; cookies, for example). @default [] */
  headers?: string[];
  /** How long an answer is reused for the same request (an allow never past its expiry); 0 disables. @default 10000 */
  cacheTtlMs?: number;
  /** Answers the cache holds; the least recently used goes first. @default 10000 */
  cacheMaxEntries?: number;
  /** Consecutive failed calls (errors, deadlines) that open the circuit: upgrades are refused fast. @default 5 */
  circuitFailureThreshold?: number;
  /** How long an open circuit refuses before one call may probe the service again. @default 5000 */
  circuitOpenMs?: number;
  /** While the service cannot answer: false refuses upgrades (503 AUTH_UNAVAILABLE); true opens anonymous sessions. @default false */
  failOpen?: boolean;
}

export interface ResolvedAuthService {
  readonly endpoint: string;
  readonly timeoutMs: number;
  readonly headers: readonly string[];
  readonly cacheTtlMs: number;
  readonly cacheMaxEntries: number;
  readonly circuitFailureThreshold: number;
  readonly circuitOpenMs: number;
  readonly failOpen: boolean;
}

const MAX_HEADERS = 16;

export const SERVICE_ROWS: readonly SettingRow[] = [
  { path: 'auth.service.endpoint', kind: 'string', default: null, defaultText: 'none', doc: 'host:port of the GatewayAuth service (instead of jwt)' },
  { path: 'auth.service.timeoutMs', kind: 'int', min: 10, max: 60_000, default: 1000, doc: 'deadline of one Authenticate call' },
  { path: 'auth.service.headers', kind: 'globs', default: [], defaultText: 'none', doc: 'request headers passed to the service' },
  { path: 'auth.service.cacheTtlMs', kind: 'int', min: 0, max: HOUR_MS, default: 10_000, doc: 'answers reused this long; 0 disables' },
  { path: 'auth.service.cacheMaxEntries', kind: 'int', min: 1, max: 1_000_000, default: 10_000, doc: 'answers held, least recently used first out' },
  { path: 'auth.service.circuitFailureThreshold', kind: 'int', min: 1, max: 1000, default: 5, doc: 'failed calls that open the circuit' },
  { path: 'auth.service.circuitOpenMs', kind: 'int', min: 100, max: HOUR_MS, default: 5000, doc: 'open circuit refuses this long, then probes' },
  { path: 'auth.service.failOpen', kind: 'bool', default: false, doc: `service down: true opens anonymous sessions, false refuses (${Code.AUTH_UNAVAILABLE})` },
];

export const SERVICE_KEYS: readonly string[] = SERVICE_ROWS.map((row) => row.path.slice('auth.service.'.length));

function value(path: string, input: Record<string, unknown>): unknown {
  const row = SERVICE_ROWS.find((r) => r.path === path)!;
  return settingValue(row, input[path.slice('auth.service.'.length)]);
}

export function resolveService(input: unknown): ResolvedAuthService {
  const service = section(input, 'auth.service');
  checkKeys(service, SERVICE_KEYS, 'auth.service');
  const scalars = Object.fromEntries(SERVICE_ROWS.map((row) => [row.path, value(row.path, service)]));
  if (service.endpoint === undefined) throw new ConfigError('auth.service.endpoint', 'is required');
  const endpoint = validateEndpoint(scalars['auth.service.endpoint'], 'auth.service.endpoint');
  const headers = (scalars['auth.service.headers'] as string[]).map((h) => h.toLowerCase());
  if (headers.length > MAX_HEADERS) throw new ConfigError('auth.service.headers', `lists more than ${MAX_HEADERS} headers`);
  const bad = headers.find((h) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(h));
  if (bad !== undefined) throw new ConfigError('auth.service.headers', `"${bad}" is not a header name`);
  return Object.freeze({
    endpoint,
    timeoutMs: scalars['auth.service.timeoutMs'] as number,
    headers: Object.freeze(headers),
    cacheTtlMs: scalars['auth.service.cacheTtlMs'] as number,
    cacheMaxEntries: scalars['auth.service.cacheMaxEntries'] as number,
    circuitFailureThreshold: scalars['auth.service.circuitFailureThreshold'] as number,
    circuitOpenMs: scalars['auth.service.circuitOpenMs'] as number,
    failOpen: scalars['auth.service.failOpen'] as boolean,
  });
}
