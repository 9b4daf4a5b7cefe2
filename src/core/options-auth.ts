/**
 * The `auth` config section: its shape, defaults and `resolveAuth()`, which checks it once at start and names the bad
 * field. Key files are read and parsed here too (synchronously, on the main thread), so a missing file, a PEM that is
 * not a key or an algorithm that does not fit its key stops the start instead of failing every upgrade later; the
 * verification threads load them again from the same paths.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { ConfigError } from './errors.ts';
import { checkKeys, section, settingValue, show, str } from './options-validate.ts';
import { HOUR_MS, type SettingRow, type SettingValue } from './settings-table.ts';
import { Code } from '../protocol/codes.ts';
import { resolveService, SERVICE_ROWS, type AuthServiceOptions, type ResolvedAuthService } from './options-auth-service.ts';
import { HMAC_ALGORITHMS, isJwtAlgorithm, JWT_ALGORITHMS, KeyMaterialError, loadStaticKeys, type JwtAlgorithm } from '../auth/key-material.ts';
import { MAX_ATTRIBUTES, RESERVED_ATTRIBUTES } from '../auth/auth-verdict.ts';

/** One verification key source: exactly one of `file`, `jwk`, `jwksUrl`. */
export interface JwtKeyOptions {
  /** A PEM public key, private key or certificate, or a JWK / JWK Set as JSON (an HMAC secret is an `oct` JWK). */
  file?: string;
  /** The key itself, as a JWK object. */
  jwk?: Record<string, unknown>;
  /** A JWKS document fetched over HTTP(S), refreshed and cached; only asymmetric keys are taken from it. */
  jwksUrl?: string;
  /**
   * `file`/`jwk` only: the key's `kid`. The rule is the same for static and JWKS keys: a key with a kid verifies only
   * tokens that name it, a key without one any token (tried after the keys that name the token's kid).
   * @default the JWK's own kid; none for a PEM
   */
  kid?: string;
  /** What this key may verify (no default: explicit, and each must fit the key; HS* only for HMAC secrets). */
  algorithms: string[];
}

export interface JwtOptions {
  keys: JwtKeyOptions[];
  /** Accepted `iss` values; absent: not checked. */
  issuer?: string | string[];
  /** Accepted `aud` values (one must match); absent: not checked. */
  audience?: string | string[];
  /** Clock skew allowed on `exp` and `nbf`, in seconds; a session closes at `exp` + leeway. @default 30 */
  leewaySec?: number;
  /** A claim holding topic globs (an array of strings) the session may subscribe to besides `topics.allow`. @default null */
  topicsClaim?: string | null;
  /** Claims sent to backends as OPEN / SessionEvent attributes (strings as they are, other values as JSON). @default [] */
  attributeClaims?: string[];
  /** How often a JWKS is fetched again. @default 600000 */
  jwksRefreshMs?: number;
  /** An unknown `kid` fetches the JWKS again, at most once per this long. @default 30000 */
  jwksMinRefreshMs?: number;
  /** A key dropped from a JWKS keeps verifying this long. @default 3600000 */
  jwksGraceMs?: number;
  /** Deadline of one JWKS fetch. @default 5000 */
  jwksTimeoutMs?: number;
}

export interface AuthOptions {
  /** Refuse upgrades without a token (401). false: they open anonymous sessions; a token that is given must verify. @default true */
  required?: boolean;
  /** Verify JWTs here; exactly one of `jwt` and `service`. */
  jwt?: JwtOptions;
  /** Ask an auth service instead (delegated authentication); exactly one of `jwt` and `service`. */
  service?: AuthServiceOptions;
  /** Verifications one worker has in flight (upgrades and REFRESH); past it upgrades get 503 AUTH_BUSY. @default 256 */
  maxPendingPerWorker?: number;
  /** A verification not answered within this long is refused: 503 AUTH_UNAVAILABLE. @default 5000 */
  timeoutMs?: number;
  /** Threads of the process's JWT verification pool; ignored with `service` (no pool). @default half the CPU cores, at least 1 */
  poolThreads?: number;
  /** JWT verifications queued for the pool beyond those running; past it upgrades get 503 AUTH_BUSY. Ignored with `service`. @default 1024 */
  poolMaxQueue?: number;
  /**
   * Where JWTs are verified: `pool`, the process's verification pool; `worker`, on each worker's own loop, with the
   * same verifier and no pool. For measurement (bench/auth): `worker` stalls every session of the worker during each
   * check. JWT only. @default "pool"
   */
  verifyOn?: VerifyOn;
}

/** Where JWTs are verified (`auth.verifyOn`). */
export const VERIFY_ON = ['pool', 'worker'] as const;
export type VerifyOn = (typeof VERIFY_ON)[number];

export interface ResolvedJwtKey {
  readonly file?: string;
  readonly jwk?: Readonly<Record<string, unknown>>;
  readonly jwksUrl?: string;
  readonly kid?: string;
  readonly algorithms: readonly JwtAlgorithm[];
}

export interface ResolvedJwt {
  readonly keys: readonly ResolvedJwtKey[];
  readonly issuer: readonly string[];
  readonly audience: readonly string[];
  readonly leewaySec: number;
  readonly topicsClaim: string | null;
  readonly attributeClaims: readonly string[];
  readonly jwksRefreshMs: number;
  readonly jwksMinRefreshMs: number;
  readonly jwksGraceMs: number;
  readonly jwksTimeoutMs: number;
}

export interface ResolvedAuth {
  readonly required: boolean;
  readonly jwt: ResolvedJwt | null;
  readonly service: ResolvedAuthService | null;
  readonly maxPendingPerWorker: number;
  readonly timeoutMs: number;
  readonly poolThreads: number;
  readonly poolMaxQueue: number;
  readonly verifyOn: VerifyOn;
}

export function defaultPoolThreads(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

/**
 * The section's scalar settings, rows of the same kind as the main settings table (settings-table.ts): checked by
 * `settingValue`, and the CLI derives a flag and an `ACTORGATE_*` variable from each (`--auth-jwt-leeway-sec`). A
 * table of its own because the section is structured: it exists only with its keys, so no scalar has a meaning alone.
 */
export const AUTH_ROWS: readonly SettingRow[] = [
  { path: 'auth.required', kind: 'bool', default: true, doc: 'upgrades without a token get 401; false: anonymous sessions' },
  { path: 'auth.maxPendingPerWorker', kind: 'int', min: 1, max: 1_000_000, default: 256, doc: `verifications in flight per worker; past it 503 (${Code.AUTH_BUSY})` },
  { path: 'auth.timeoutMs', kind: 'int', min: 10, max: 600_000, default: 5000, doc: `no verdict this long: 503 (${Code.AUTH_UNAVAILABLE})` },
  { path: 'auth.poolThreads', kind: 'int', min: 1, max: 256, default: defaultPoolThreads, defaultText: 'cores/2', doc: 'JWT verification pool threads (one pool per process; ignored with auth.service)' },
  { path: 'auth.poolMaxQueue', kind: 'int', min: 0, max: 1_000_000, default: 1024, doc: `JWT verifications queued beyond those running; past it 503 (${Code.AUTH_BUSY}); ignored with auth.service` },
  { path: 'auth.verifyOn', kind: 'enum', values: VERIFY_ON, default: 'pool', doc: "pool, or worker: verify JWTs on each worker's own loop, for measurement only ('worker' stalls every session of the worker during each check)" },
  { path: 'auth.jwt.issuer', kind: 'globs', default: [], defaultText: 'any', doc: 'accepted iss values (exact strings)' },
  { path: 'auth.jwt.audience', kind: 'globs', default: [], defaultText: 'any', doc: 'accepted aud values (exact strings; one must match)' },
  { path: 'auth.jwt.leewaySec', kind: 'int', min: 0, max: 3600, default: 30, doc: 'clock skew allowed on exp and nbf' },
  { path: 'auth.jwt.topicsClaim', kind: 'string', nullable: true, default: null, defaultText: 'none', doc: 'claim with topic globs the session may subscribe to' },
  { path: 'auth.jwt.attributeClaims', kind: 'globs', default: [], defaultText: 'none', doc: 'claims passed to backends as OPEN/SessionEvent attributes' },
  { path: 'auth.jwt.jwksRefreshMs', kind: 'int', min: 1000, max: 24 * HOUR_MS, default: 600_000, doc: 'JWKS fetched again this often' },
  { path: 'auth.jwt.jwksMinRefreshMs', kind: 'int', min: 0, max: HOUR_MS, default: 30_000, doc: 'an unknown kid fetches again at most this often' },
  { path: 'auth.jwt.jwksGraceMs', kind: 'int', min: 0, max: 7 * 24 * HOUR_MS, default: 3_600_000, doc: 'a key dropped from a JWKS keeps verifying this long' },
  { path: 'auth.jwt.jwksTimeoutMs', kind: 'int', min: 100, max: 60_000, default: 5000, doc: 'deadline of one JWKS fetch' },
  ...SERVICE_ROWS,
];

/** The fields of `auth` and of `auth.jwt`: their rows, plus the structured ones. */
export const AUTH_KEYS: readonly string[] = ['jwt', 'service', ...rowKeys('auth')];
export const JWT_KEYS: readonly string[] = ['keys', ...rowKeys('auth.jwt')];
const KEY_KEYS = ['file', 'jwk', 'jwksUrl', 'kid', 'algorithms'] as const;

const MAX_KEYS = 32;

/** The keys directly under `prefix` that rows hold: `auth` → required, …; `auth.jwt` → issuer, …. */
function rowKeys(prefix: string): string[] {
  return AUTH_ROWS.filter((row) => row.path.startsWith(`${prefix}.`))
    .map((row) => row.path.slice(prefix.length + 1))
    .filter((key) => !key.includes('.'));
}

/** The value of the row at `path` in `input` (the section object that holds it). */
function rowValue(path: string, input: Record<string, unknown>): SettingValue {
  const row = AUTH_ROWS.find((r) => r.path === path)!;
  let value = input[path.slice(path.lastIndexOf('.') + 1)];
  // One issuer or audience may be given as a plain string.
  if (row.kind === 'globs' && typeof value === 'string' && value !== '') value = [value];
  return settingValue(row, value);
}

function algorithms(value: unknown, field: string): JwtAlgorithm[] {
  if (!Array.isArray(value) || value.length === 0) throw new ConfigError(field, `is required: a non-empty array of ${JWT_ALGORITHMS.join(', ')}`);
  value.forEach((alg, i) => {
    if (!isJwtAlgorithm(alg)) throw new ConfigError(`${field}[${i}]`, `must be one of ${JWT_ALGORITHMS.join(', ')}, got ${show(alg)}`);
  });
  if (new Set(value).size !== value.length) throw new ConfigError(field, 'lists an algorithm twice');
  return [...(value as JwtAlgorithm[])];
}

function resolveKey(value: unknown, field: string): ResolvedJwtKey {
  const input = section(value, field);
  checkKeys(input, KEY_KEYS, field);
  const given = (['file', 'jwk', 'jwksUrl'] as const).filter((k) => input[k] !== undefined);
  if (given.length !== 1) throw new ConfigError(field, `needs exactly one of file, jwk, jwksUrl (got ${given.length === 0 ? 'none' : given.join(', ')})`);
  const algs = algorithms(input.algorithms, `${field}.algorithms`);
  if (input.jwksUrl !== undefined) {
    const url = str(input.jwksUrl, `${field}.jwksUrl`, '');
    if (!/^https?:\/\/\S+$/.test(url)) throw new ConfigError(`${field}.jwksUrl`, `must be an http:// or https:// URL, got ${show(url)}`);
    if (input.kid !== undefined) throw new ConfigError(`${field}.kid`, 'applies to file and jwk keys; a JWKS names its own kids');
    const hmac = algs.find((a) => HMAC_ALGORITHMS.includes(a));
    if (hmac !== undefined) throw new ConfigError(`${field}.algorithms`, `${hmac} cannot come from a JWKS: only asymmetric keys are taken from one`);
    return Object.freeze({ jwksUrl: url, algorithms: Object.freeze(algs) });
  }
  const kid = input.kid === undefined ? undefined : str(input.kid, `${field}.kid`, '');
  let file: string | undefined;
  let jwk: Record<string, unknown> | undefined;
  if (input.file !== undefined) file = resolve(str(input.file, `${field}.file`, ''));
  else if (typeof input.jwk !== 'object' || input.jwk === null || Array.isArray(input.jwk)) throw new ConfigError(`${field}.jwk`, 'must be a JWK object');
  else jwk = structuredClone(input.jwk as Record<string, unknown>);
  try {
    loadStaticKeys({ file, jwk, kid, algorithms: algs });
  } catch (err) {
    if (err instanceof KeyMaterialError) throw new ConfigError(`${field}.${file !== undefined ? 'file' : 'jwk'}`, err.message);
    throw err;
  }
  return Object.freeze({ ...(file !== undefined ? { file } : { jwk: Object.freeze(jwk!) }), ...(kid !== undefined ? { kid } : {}), algorithms: Object.freeze(algs) });
}

function resolveJwt(value: unknown): ResolvedJwt {
  const input = section(value, 'auth.jwt');
  checkKeys(input, JWT_KEYS, 'auth.jwt');
  const scalars = Object.fromEntries(AUTH_ROWS.filter((row) => row.path.startsWith('auth.jwt.')).map((row) => [row.path, rowValue(row.path, input)]));
  if (!Array.isArray(input.keys) || input.keys.length === 0) throw new ConfigError('auth.jwt.keys', 'must be a non-empty array of key sources');
  if (input.keys.length > MAX_KEYS) throw new ConfigError('auth.jwt.keys', `holds more than ${MAX_KEYS} key sources`);
  const keys = input.keys.map((key, i) => resolveKey(key, `auth.jwt.keys[${i}]`));
  const attributeClaims = scalars['auth.jwt.attributeClaims'] as string[];
  if (attributeClaims.length > MAX_ATTRIBUTES) throw new ConfigError('auth.jwt.attributeClaims', `lists more than ${MAX_ATTRIBUTES} claims`);
  if (new Set(attributeClaims).size !== attributeClaims.length) throw new ConfigError('auth.jwt.attributeClaims', 'lists a claim twice');
  const reserved = attributeClaims.find((c) => RESERVED_ATTRIBUTES.includes(c));
  if (reserved !== undefined) throw new ConfigError('auth.jwt.attributeClaims', `"${reserved}" is an attribute the gateway sets itself`);
  return Object.freeze({
    keys: Object.freeze(keys),
    issuer: Object.freeze(scalars['auth.jwt.issuer'] as string[]),
    audience: Object.freeze(scalars['auth.jwt.audience'] as string[]),
    leewaySec: scalars['auth.jwt.leewaySec'] as number,
    topicsClaim: scalars['auth.jwt.topicsClaim'] as string | null,
    attributeClaims: Object.freeze(attributeClaims),
    jwksRefreshMs: scalars['auth.jwt.jwksRefreshMs'] as number,
    jwksMinRefreshMs: scalars['auth.jwt.jwksMinRefreshMs'] as number,
    jwksGraceMs: scalars['auth.jwt.jwksGraceMs'] as number,
    jwksTimeoutMs: scalars['auth.jwt.jwksTimeoutMs'] as number,
  });
}

/** The leeway a token's `exp` gets: the JWT setting; an auth service's expiry is taken as it is. */
export function leewaySecOf(auth: ResolvedAuth): number {
  return auth.jwt?.leewaySec ?? 0;
}

/** Checks the `auth` section; null when it is absent (every client is trusted, as without this section). */
export function resolveAuth(value: unknown): ResolvedAuth | null {
  if (value === undefined || value === null) return null;
  const input = section(value, 'auth');
  checkKeys(input, AUTH_KEYS, 'auth');
  // Scalars first, so a bad value names itself even in a section that is incomplete.
  const required = rowValue('auth.required', input) as boolean;
  const maxPendingPerWorker = rowValue('auth.maxPendingPerWorker', input) as number;
  const timeoutMs = rowValue('auth.timeoutMs', input) as number;
  const poolThreads = rowValue('auth.poolThreads', input) as number;
  const poolMaxQueue = rowValue('auth.poolMaxQueue', input) as number;
  const verifyOn = rowValue('auth.verifyOn', input) as VerifyOn;
  if ((input.jwt === undefined) === (input.service === undefined)) {
    throw new ConfigError(input.jwt === undefined ? 'auth.jwt' : 'auth.service', 'auth needs exactly one of jwt (verify tokens here) and service (ask an auth service)');
  }
  const jwt = input.jwt === undefined ? null : resolveJwt(input.jwt);
  const service = input.service === undefined ? null : resolveService(input.service);
  if (verifyOn === 'worker' && jwt === null) throw new ConfigError('auth.verifyOn', "'worker' verifies JWTs: it needs auth.jwt, not auth.service");
  return Object.freeze({ required, jwt, service, maxPendingPerWorker, timeoutMs, poolThreads, poolMaxQueue, verifyOn });
}
