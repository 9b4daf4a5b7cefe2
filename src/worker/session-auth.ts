/**
 * What a session's token granted, held on its Session for its whole life: the user, when the session must end, and
 * the topic globs the token adds to `topics.allow`. A REFRESH moves `closesAt`; nothing else changes after open (the
 * user is fixed, and backends saw the attributes in OPEN).
 */
import type { AuthGrant } from '../auth/auth-verdict.ts';
import { TopicPolicy } from './topic-policy.ts';

/** When a session whose token expires at `expiresAt` (unix seconds, 0: never) is closed: after the same leeway verification allows. */
export function closesAtMs(expiresAt: number, leewaySec: number): number {
  return expiresAt === 0 ? 0 : (expiresAt + leewaySec) * 1000;
}

export class SessionAuth {
  readonly userId: string;
  /** The upgrade token's `iss` (undefined: none, or an auth service's grant): a REFRESH must carry the same. */
  readonly issuer: string | undefined;
  /** The token's topic globs; undefined when it grants none. */
  readonly topics: TopicPolicy | undefined;
  /** Wall-clock ms at which the session is closed with TOKEN_EXPIRED; 0: never. */
  closesAt: number;
  /** A REFRESH is being verified: one at a time per session. */
  refreshing = false;

  constructor(grant: AuthGrant, leewaySec: number) {
    this.userId = grant.userId;
    this.issuer = grant.issuer;
    this.topics = grant.topics.length === 0 ? undefined : new TopicPolicy(grant.topics);
    this.closesAt = closesAtMs(grant.expiresAt, leewaySec);
  }
}
