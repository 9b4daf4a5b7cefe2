/**
 * API keys of the push API and the admin port (`push.apiKeys`, `admin.apiKeys`). The config holds only each key's
 * SHA-256, as `sha256:<64 hex digits>`; a request's key is hashed and its digest compared with every configured one
 * in constant time, so neither the config nor the time an answer takes tells anything about a key.
 *
 * A plain SHA-256, not a password hash (scrypt, Argon2): an API key is a random secret of 128 bits or more (the
 * `actorgate hash-key` command makes 256), which no search can find from its hash however fast the hash is. A slow
 * hash only protects secrets people choose and remember, and would cost CPU on every push.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from './errors.ts';
import { Code } from '../protocol/codes.ts';

/** The form of one configured key hash. */
export const API_KEY_HASH = /^sha256:[0-9a-f]{64}$/;
const HASH_PREFIX = 'sha256:';

/** The shortest key `actorgate hash-key` hashes: a shorter one is too easy to guess for an unsalted hash. */
export const MIN_API_KEY_LENGTH = 16;

/** What a key may hold: visible ASCII, as an HTTP header value and a Bearer token carry it unchanged. */
export const API_KEY_FORM = /^[\x21-\x7e]+$/;

/** `sha256:<hex>` of a key, as the config lists it. */
export function hashApiKey(key: string): string {
  return `${HASH_PREFIX}${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** A new random key: 32 bytes from the system's CSPRNG, base64url (43 characters). */
export function generateApiKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Checks `push.apiKeys` or `admin.apiKeys` (absent: none) and returns a copy, each hash in lower case. */
export function apiKeyHashes(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ConfigError(field, 'must be an array of key hashes ("sha256:<64 hex digits>", from actorgate hash-key)');
  const hashes = value.map((item, i) => {
    const hash = typeof item === 'string' ? item.trim().toLowerCase() : item;
    if (typeof hash !== 'string' || !API_KEY_HASH.test(hash)) {
      const hint = typeof hash === 'string' && !hash.startsWith(HASH_PREFIX) ? ' (the hash of the key, not the key itself: actorgate hash-key prints it)' : '';
      throw new ConfigError(`${field}[${i}]`, `must be "sha256:" and 64 hex digits${hint}`);
    }
    return hash;
  });
  const twice = hashes.findIndex((hash, i) => hashes.indexOf(hash) !== i);
  if (twice >= 0) throw new ConfigError(`${field}[${twice}]`, `lists the same key hash as ${field}[${hashes.indexOf(hashes[twice]!)}]`);
  return hashes;
}

/** A request's key: `ok`, or why it is refused: none presented, or one that matches no configured hash. */
export type ApiKeyVerdict = 'ok' | 'missing' | 'invalid';
export const API_KEY_REFUSALS = ['missing', 'invalid'] as const;
export type ApiKeyRefusal = (typeof API_KEY_REFUSALS)[number];

/** The set of keys one API accepts. With no hashes it accepts every request, a key or none. */
export class ApiKeyChecker {
  readonly #digests: readonly Buffer[];

  constructor(hashes: readonly string[]) {
    this.#digests = hashes.map((hash) => Buffer.from(hash.slice(HASH_PREFIX.length), 'hex'));
  }

  /** Whether a request needs a key. */
  get required(): boolean {
    return this.#digests.length > 0;
  }

  /**
   * `key` undefined: none was presented. Every configured digest is compared, with no early exit, and each
   * comparison is of two 32-byte digests, so the time depends on neither the key's length nor which digest matched.
   */
  check(key: string | undefined): ApiKeyVerdict {
    if (!this.required) return 'ok';
    if (key === undefined) return 'missing';
    if (key === '') return 'invalid';
    const digest = createHash('sha256').update(key, 'utf8').digest();
    let matched = 0;
    for (const expected of this.#digests) matched |= timingSafeEqual(expected, digest) ? 1 : 0;
    return matched === 1 ? 'ok' : 'invalid';
  }
}

/**
 * The key an HTTP request presents: `X-Api-Key`, else `Authorization: Bearer <key>`; '' (invalid) for an
 * Authorization of another form, undefined when there is neither header.
 */
export function presentedKey(xApiKey: string | string[] | undefined, authorization: string | undefined): string | undefined {
  if (xApiKey !== undefined) return typeof xApiKey === 'string' ? xApiKey.trim() : '';
  if (authorization === undefined) return undefined;
  return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)?.[1] ?? '';
}

/** The APIs that take keys, as `actorgate_api_key_refused_total{api}` names them. */
export type KeyedApi = 'push' | 'admin';

/** What a key is checked for: the gRPC push service, POST /v1/push, or the admin endpoints (/ready, /metrics). */
export type KeyedEndpoint = 'push' | 'http-push' | 'admin';

/** A refusal as both transports describe it: the code of docs/PROTOCOL.md §4, and a reason naming the key set. */
export function apiKeyRefusal(keys: KeyedApi, verdict: ApiKeyRefusal): { code: number; reason: string } {
  return verdict === 'missing'
    ? { code: Code.API_KEY_REQUIRED, reason: `needs a key of ${keys}.apiKeys: x-api-key, or authorization: Bearer <key>` }
    : { code: Code.API_KEY_INVALID, reason: `the key is none of ${keys}.apiKeys` };
}

/**
 * The keys of one gateway, built once from its config, and its refusal counts (read by /metrics). POST /v1/push is
 * the push API on the admin port: it takes `push.apiKeys`, or `admin.apiKeys` when only those are set, so keys on
 * the admin port leave none of its endpoints but /health open.
 */
export class ApiKeys {
  readonly #push: ApiKeyChecker;
  readonly #admin: ApiKeyChecker;
  readonly #httpPush: ApiKeyChecker;
  readonly #httpPushApi: KeyedApi;
  readonly refused: Record<KeyedApi, Record<ApiKeyRefusal, number>> = {
    push: { missing: 0, invalid: 0 },
    admin: { missing: 0, invalid: 0 },
  };

  constructor(config: { readonly push: { readonly apiKeys: readonly string[] }; readonly admin: { readonly apiKeys: readonly string[] } }) {
    this.#push = new ApiKeyChecker(config.push.apiKeys);
    this.#admin = new ApiKeyChecker(config.admin.apiKeys);
    const pushKeyed = config.push.apiKeys.length > 0;
    this.#httpPush = pushKeyed ? this.#push : this.#admin;
    this.#httpPushApi = pushKeyed ? 'push' : 'admin';
  }

  /** Whether `endpoint` needs a key. */
  required(endpoint: KeyedEndpoint): boolean {
    return this.#checker(endpoint).required;
  }

  /** Checks `key` for `endpoint`; a refusal is counted under the API called (POST /v1/push: `push`). */
  check(endpoint: KeyedEndpoint, key: string | undefined): ApiKeyVerdict {
    const verdict = this.#checker(endpoint).check(key);
    if (verdict !== 'ok') this.refused[endpoint === 'admin' ? 'admin' : 'push'][verdict]++;
    return verdict;
  }

  /** Whose keys a refusal of `endpoint` names in its reason. */
  keysOf(endpoint: KeyedEndpoint): KeyedApi {
    return endpoint === 'http-push' ? this.#httpPushApi : endpoint;
  }

  #checker(endpoint: KeyedEndpoint): ApiKeyChecker {
    return endpoint === 'push' ? this.#push : endpoint === 'admin' ? this.#admin : this.#httpPush;
  }
}

/** Whether `host` binds only the loopback interface. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || /^::ffff:127\./i.test(host);
}

/** A server's part of the config that decides whether it is exposed: where it listens, its keys, its client CAs. */
interface ExposedServerConfig {
  readonly host: string;
  readonly port: number | null;
  readonly apiKeys: readonly string[];
  readonly tls?: { readonly ca: string | null } | null;
}

/**
 * The servers that listen beyond loopback with neither keys nor client certificates (`tls.ca`, mutual TLS): anyone who
 * reaches them may push (push, POST /v1/push) or read /ready and /metrics. The gateway logs a warning for each.
 */
export function unkeyedExposedServers(config: { readonly push: ExposedServerConfig; readonly admin: ExposedServerConfig }): KeyedApi[] {
  return (['push', 'admin'] as const).filter((api) => {
    const server = config[api];
    return server.port !== null && server.apiKeys.length === 0 && (server.tls?.ca ?? null) === null && !isLoopbackHost(server.host);
  });
}
