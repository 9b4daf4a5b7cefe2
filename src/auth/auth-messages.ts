/**
 * What a worker actor and the process's verifier say over the MessagePort between them (structured-clone safe): a
 * request per upgrade or REFRESH, answered once with the same id; and what each verification thread starts with.
 */
import type { AuthVerdict } from './auth-verdict.ts';
import type { LogOptions } from '../core/options.ts';
import type { ResolvedJwt } from '../core/options-auth.ts';

/** One verification; the pool task gets the same object. */
export interface AuthRequest {
  readonly id: number;
  /** '' when the client gave none (asked of an auth service only). */
  readonly token: string;
  /** For an auth service (auth.service): the headers it asked for, the client's address and path, and whether this is a REFRESH. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly remoteAddress?: string;
  readonly path?: string;
  readonly refresh?: boolean;
  /** A REFRESH's session user, for an auth service to check (the gateway refuses an allow for another user itself). */
  readonly userId?: string;
}

/** What answers AuthRequests on the main thread: the JWT pool, or the auth service client. */
export interface Verifier {
  /** Never rejects: every failure is a denial (`busy`, `unavailable`). */
  verify(request: AuthRequest): Promise<AuthVerdict>;
  /** Lets running verifications finish within `timeoutMs`, then stops. Idempotent. */
  close(timeoutMs: number): Promise<void>;
}

export interface AuthReply {
  readonly id: number;
  readonly verdict: AuthVerdict;
}

/** What each pool thread starts with (piscina `workerData`). */
export interface AuthPoolData {
  readonly jwt: ResolvedJwt;
  readonly log: Readonly<LogOptions>;
  /** Int32 slots (AuthPoolSlot) the threads add to atomically; read by /metrics. */
  readonly counters: SharedArrayBuffer;
}

export const AuthPoolSlot = { JWKS_FETCHED: 0, JWKS_FAILED: 1, TASK_FAILED: 2 } as const;
export const POOL_SLOTS = 3;
