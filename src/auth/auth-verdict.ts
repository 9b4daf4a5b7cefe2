/**
 * What a verification answers, as it crosses threads (structured-clone safe): a grant with what the session takes
 * from the token, or a denial with its reason. Each denial reason has one client code and HTTP status
 * (docs/PROTOCOL.md §1, §4) and one label on `actorgate_auth_refused_total`.
 */
import type { AuthRefusal } from '../core/counters.ts';
import { Code } from '../protocol/codes.ts';

export { AuthRefusals, type AuthRefusal } from '../core/counters.ts';

export interface AuthGrant {
  readonly ok: true;
  /** The token's `sub` (or the auth service's user id): the session's user. */
  readonly userId: string;
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

/** Longest token accepted from any source (header, query, subprotocol, REFRESH): more is refused before any work. */
export const MAX_TOKEN_BYTES = 8192;
/** A user id the push API can address (its own limit). */
export const MAX_USER_ID_BYTES = 256;
/** Per claim-carried attribute value. */
export const MAX_ATTRIBUTE_BYTES = 1024;
/** Topic globs one token may grant, each at most a topic's 200 bytes. */
export const MAX_TOKEN_TOPICS = 64;
