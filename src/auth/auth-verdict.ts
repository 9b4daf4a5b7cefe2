/**
 * What a verification answers, as it crosses threads (structured-clone safe): a grant with what the session takes
 * from the token, or a denial with its reason. Each denial reason has one client code and HTTP status
 * (docs/PROTOCOL.md §1, §4) and one label on `actorgate_auth_refused_total`.
 */
import type { AuthRefusal } from '../core/counters.ts';
import { Code } from '../protocol/codes.ts';
import { MAX_TOPIC_BYTES } from '../protocol/control.ts';

export { AuthRefusals, type AuthRefusal } from '../core/counters.ts';

export interface AuthGrant {
  readonly ok: true;
  /** The token's `sub` (or the auth service's user id): the session's user. */
  readonly userId: string;
  /**
   * The token's `iss`, absent when it has none (and in an auth service's grant): a `sub` is unique only within its
   * issuer, so a REFRESH must come from the same one.
   */
  readonly issuer?: string;
  /** Unix seconds after which the token is expired (before leeway); 0 when it never expires. */
  readonly expiresAt: number;
  /** Topic globs the token lets the session subscribe to, beside `topics.allow`. */
  readonly topics: readonly string[];
  /** Claims configured to travel to backends (OPEN and SessionEvent attributes). */
  readonly attributes: Readonly<Record<string, string>>;
}

export interface AuthDenial {
  readonly ok: false;
  readonly refusal: AuthRefusal;
  /** For logs and the refusal body; never echoes the token. */
  readonly reason: string;
  /** A code the auth service chose (4000–4999), sent instead of the reason's default. */
  readonly code?: number;
}

export type AuthVerdict = AuthGrant | AuthDenial;

export function deny(refusal: AuthRefusal, reason: string, code?: number): AuthDenial {
  return code === undefined ? { ok: false, refusal, reason } : { ok: false, refusal, reason, code };
}

/** The client code a denial is answered with. */
export function denialCode(denial: AuthDenial): number {
  if (denial.code !== undefined && denial.code >= 4000 && denial.code <= 4999) return denial.code;
  switch (denial.refusal) {
    case 'expired':
      return Code.TOKEN_EXPIRED;
    case 'busy':
      return Code.AUTH_BUSY;
    case 'unavailable':
      return Code.AUTH_UNAVAILABLE;
    default:
      return Code.UNAUTHORIZED;
  }
}

/** The HTTP status an upgrade refused for this reason gets: the client's fault 401, the gateway's 503. */
export function denialStatus(denial: AuthDenial): 401 | 503 {
  return denial.refusal === 'busy' || denial.refusal === 'unavailable' ? 503 : 401;
}

/**
 * Longest token accepted from any source (header, query, subprotocol, REFRESH): more is refused before any work. The
 * request limits usually bind first (docs/PROTOCOL.md §11): an upgrade's head is at most `limits.maxHeaderBytes` and
 * its target `limits.maxUrlBytes`, a REFRESH at most `limits.maxPayloadBytes`.
 */
export const MAX_TOKEN_BYTES = 8192;
/** A user id the push API can address (its own limit). */
export const MAX_USER_ID_BYTES = 256;
/** Per claim-carried attribute value. */
export const MAX_ATTRIBUTE_BYTES = 1024;
/** Attributes one session may carry (configured claims, or an auth service's answer). */
export const MAX_ATTRIBUTES = 32;
/** Topic globs one token may grant, each at most a topic's 200 bytes. */
export const MAX_TOKEN_TOPICS = 64;
/** The latest expiry a grant may name: REFRESH_RESULT carries it as a u32 (a later one is milliseconds by mistake). */
export const MAX_EXPIRES_AT = 2 ** 32 - 1;
/** Attribute names the gateway itself sets on SessionEvents. */
export const RESERVED_ATTRIBUTES: readonly string[] = ['path'];

/**
 * The one length check of a token, in UTF-8 bytes whatever the source: an empty one is missing, one over
 * MAX_TOKEN_BYTES invalid. Undefined: it may be a token.
 */
export function tokenLengthDenial(bytes: number): AuthDenial | undefined {
  if (bytes === 0) return deny('missing', 'empty token');
  if (bytes > MAX_TOKEN_BYTES) return deny('invalid', `token longer than ${MAX_TOKEN_BYTES} bytes`);
  return undefined;
}

/**
 * Why a grant is not one a session can hold, or undefined: the one bounds check of a JWT's claims (a problem is the
 * token's: invalid) and of an auth service's allow (a problem is the service's: a failure). The shapes of claims are
 * the verifier's to check; this sees strings already.
 */
export function grantProblem(grant: AuthGrant): string | undefined {
  if (Buffer.byteLength(grant.userId) > MAX_USER_ID_BYTES) return `user id longer than ${MAX_USER_ID_BYTES} bytes`;
  const { topics, attributes, expiresAt } = grant;
  if (topics.length > MAX_TOKEN_TOPICS) return `more than ${MAX_TOKEN_TOPICS} topic globs`;
  for (const topic of topics) {
    if (topic === '' || Buffer.byteLength(topic) > MAX_TOPIC_BYTES) return `a topic glob empty or longer than ${MAX_TOPIC_BYTES} bytes`;
  }
  const names = Object.keys(attributes);
  if (names.length > MAX_ATTRIBUTES) return `more than ${MAX_ATTRIBUTES} attributes`;
  for (const name of names) {
    if (name === '' || RESERVED_ATTRIBUTES.includes(name)) return `attribute name ${JSON.stringify(name)} is reserved or empty`;
    if (Buffer.byteLength(attributes[name]!) > MAX_ATTRIBUTE_BYTES) return `attribute "${name}" is longer than ${MAX_ATTRIBUTE_BYTES} bytes`;
  }
  if (!(expiresAt >= 0 && expiresAt <= MAX_EXPIRES_AT)) return `expiry ${expiresAt} is out of range (0 to ${MAX_EXPIRES_AT} Unix seconds)`;
  return undefined;
}
