/**
 * Delegated authentication (`auth.service`): the main thread asks an auth service's `GatewayAuth.Authenticate`
 * (proto/auth.proto) about each upgrade, instead of verifying JWTs. It is a network call, not CPU: it runs on the main
 * thread, next to the workers' ports (auth-broker.ts), so one cache and one circuit serve the whole process.
 *
 * - Every call has a deadline (`timeoutMs`); a failure (error, deadline, an answer out of bounds) counts against a
 *   circuit breaker (the backends' own, `backend/circuit-breaker.ts`). While it is open, requests are answered at once;
 *   half-open, one call at a time probes the service, and only that probe's outcome moves the circuit: a call made
 *   before it opened (the deadline may be longer than `circuitOpenMs`) says nothing about the service now.
 * - Answers (allows and refusals, never failures) are cached for `cacheTtlMs` by a digest of everything the request
 *   carried, an allow never past its expiry; at most `cacheMaxEntries`, least recently used out first. Requests that
 *   are the same while one is in flight share that call, so a reconnect storm of one token is one call.
 * - Down means closed by default: `unavailable` (503 AUTH_UNAVAILABLE). With `failOpen`, an upgrade then opens an
 *   anonymous session; a REFRESH is never answered that way, since it is about a user.
 */
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { CircuitBreaker, type CircuitState } from '../backend/circuit-breaker.ts';
import { actorgateV1, type AuthenticateResponse } from '../backend/proto.ts';
import type { Logger } from '../core/logger.ts';
import type { ResolvedAuthService } from '../core/options-auth-service.ts';
import type { AuthRequest, Verifier } from './auth-messages.ts';
import { deny, grantProblem, type AuthGrant, type AuthVerdict } from './auth-verdict.ts';

/** What an allow with no user is: a session as `auth.required: false` opens one. */
export const ANONYMOUS: AuthGrant = Object.freeze({ ok: true, userId: '', expiresAt: 0, topics: Object.freeze([]), attributes: Object.freeze({}) });

type AuthenticateCall = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: AuthenticateResponse) => void,
) => grpc.ClientUnaryCall;

/** The counts /metrics reads (plain fields: one thread writes them). */
export interface AuthServiceStats {
  allowed: number;
  denied: number;
  /** Calls that failed: error, deadline, or an answer out of bounds. */
  failed: number;
  /** Requests answered without a call while the circuit was open. */
  fastFailed: number;
  cacheHits: number;
}

/**
 * The service's answer as a verdict, or a reason it is not a valid one (a failure of the service, not a refusal). An
 * allow whose `expires_at` is already past is an expired token, not a session to open and close at once.
 */
export function verdictOf(response: AuthenticateResponse, nowMs = Date.now()): AuthVerdict | string {
  if (response.allow !== true) {
    const code = response.code ?? 0;
    return deny('denied', response.reason || 'refused by the auth service', code >= 4000 && code <= 4999 ? code : undefined);
  }
  const grant: AuthGrant = {
    ok: true,
    userId: response.userId ?? '',
    expiresAt: Number(response.expiresAt ?? 0),
    topics: response.topics ?? [],
    attributes: response.attributes ?? {},
  };
  const problem = grantProblem(grant);
  if (problem !== undefined) return `answer out of bounds: ${problem}`;
  if (grant.expiresAt !== 0 && grant.expiresAt * 1000 <= nowMs) return deny('expired', 'expires_at is past');
  return grant.userId === '' ? ANONYMOUS : grant;
}

export class AuthServiceClient implements Verifier {
  readonly stats: AuthServiceStats = { allowed: 0, denied: 0, failed: 0, fastFailed: 0, cacheHits: 0 };
  readonly #options: ResolvedAuthService;
  readonly #client: grpc.Client;
  readonly #authenticate: AuthenticateCall;
  readonly #breaker: CircuitBreaker;
  readonly #cache = new Map<string, { verdict: AuthVerdict; until: number }>();
  readonly #inFlight = new Map<string, Promise<AuthVerdict>>();
  #probing = false;
  #closed = false;

  constructor(options: ResolvedAuthService, logger: Logger) {
    this.#options = options;
    const GatewayAuth = actorgateV1().GatewayAuth;
    this.#client = new GatewayAuth(options.endpoint, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0 });
    this.#authenticate = (this.#client as unknown as { Authenticate: AuthenticateCall }).Authenticate.bind(this.#client);
    this.#breaker = new CircuitBreaker({ threshold: options.circuitFailureThreshold, openMs: options.circuitOpenMs }, (state, failures) =>
      logger[state === 'open' ? 'warn' : 'info']({ endpoint: options.endpoint, state, failures }, 'auth service circuit'),
    );
  }

  get circuit(): CircuitState {
    return this.#breaker.state;
  }

  verify(request: AuthRequest): Promise<AuthVerdict> {
    if (this.#closed) return Promise.resolve(deny('unavailable', 'gateway closing'));
    const key = this.#key(request);
    const now = Date.now();
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.#cache.delete(key);
      if (cached.until > now) {
        // Re-inserted: a Map iterates in insertion order, so the first key is the least recently used.
        this.#cache.set(key, cached);
        this.stats.cacheHits++;
        return Promise.resolve(cached.verdict);
      }
    }
    const joined = this.#inFlight.get(key);
    if (joined !== undefined) return joined;
    const nowMono = performance.now();
    if (!this.#breaker.allows(nowMono) || (this.#breaker.state === 'half-open' && this.#probing)) {
      this.stats.fastFailed++;
      return Promise.resolve(this.#down(request, 'auth service circuit open'));
    }
    const probe = this.#breaker.state === 'half-open';
    if (probe) this.#probing = true;
    const call = this.#call(request).then((answer) => {
      this.#inFlight.delete(key);
      if (probe) this.#probing = false;
      // Half-open, only the probe speaks for the service (see the file comment); open, the breaker ignores outcomes itself.
      const heard = probe || this.circuit !== 'half-open';
      if (typeof answer === 'string') {
        this.stats.failed++;
        if (heard) this.#breaker.recordFailure(performance.now());
        return this.#down(request, answer);
      }
      if (heard) this.#breaker.recordSuccess();
      if (answer.ok) this.stats.allowed++;
      else this.stats.denied++;
      this.#remember(key, answer);
      return answer;
    });
    this.#inFlight.set(key, call);
    return call;
  }

  /** Calls already made are answered as their channel ends them (unavailable). Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#client.close();
    return Promise.resolve();
  }

  /** One Authenticate call: the verdict, or why the service did not give one. */
  #call(request: AuthRequest): Promise<AuthVerdict | string> {
    const message = {
      token: request.token,
      headers: request.headers ?? {},
      remoteAddress: request.remoteAddress ?? '',
      path: request.path ?? '',
      refresh: request.refresh === true,
      userId: request.userId ?? '',
    };
    return new Promise((resolve) => {
      this.#authenticate(message, new grpc.Metadata(), { deadline: Date.now() + this.#options.timeoutMs }, (err, response) => {
        if (err !== null) resolve(err.code === grpc.status.DEADLINE_EXCEEDED ? `no answer within ${this.#options.timeoutMs} ms` : `auth service: ${grpc.status[err.code] ?? err.code}`);
        else resolve(verdictOf(response ?? {}));
      });
    });
  }

  /** What a request gets while the service cannot answer. */
  #down(request: AuthRequest, reason: string): AuthVerdict {
    return this.#options.failOpen && request.refresh !== true ? ANONYMOUS : deny('unavailable', reason);
  }

  #remember(key: string, verdict: AuthVerdict): void {
    const ttl = this.#options.cacheTtlMs;
    if (ttl === 0) return;
    let until = Date.now() + ttl;
    if (verdict.ok && verdict.expiresAt !== 0) until = Math.min(until, verdict.expiresAt * 1000);
    this.#cache.set(key, { verdict, until });
    while (this.#cache.size > this.#options.cacheMaxEntries) this.#cache.delete(this.#cache.keys().next().value!);
  }

  /** A digest of everything the service was told, so a cached answer is only reused for the same question. */
  #key(request: AuthRequest): string {
    return createHash('sha256')
      .update(JSON.stringify([request.token, request.headers ?? {}, request.remoteAddress ?? '', request.path ?? '', request.refresh === true, request.userId ?? '']))
      .digest('base64');
  }
}
