/**
 * Verifies one JWT against the configured keys and turns its claims into what a session takes (auth-verdict.ts). It
 * runs on a verification thread (workers/auth.task.ts), never on a worker actor's loop: a signature check costs about
 * 0.1–0.2 ms of CPU, enough for a reconnect storm to stall every session of a worker.
 *
 * The order matters for what a client is told: the header is read (a malformed token, or an algorithm outside the
 * supported set, `none` included, is invalid at once); the keys are those whose allow-list has the token's `alg` and
 * whose `kid` matches (any, for a token that names none); an unknown `kid` fetches the JWKS sources again
 * (rate-limited); jose then checks the signature before any claim, so only a correctly signed token can be told it is
 * expired.
 */
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { ResolvedJwt } from '../core/options-auth.ts';
import { deny, MAX_ATTRIBUTE_BYTES, MAX_TOKEN_BYTES, MAX_TOKEN_TOPICS, MAX_USER_ID_BYTES, type AuthVerdict } from './auth-verdict.ts';
import { JwksCache, type JwksEvent } from './jwks-cache.ts';
import { isJwtAlgorithm, loadStaticKeys, type JwtAlgorithm, type VerificationKey } from './key-material.ts';
import { MAX_TOPIC_BYTES } from '../protocol/control.ts';

export class JwtVerifier {
  readonly #options: ResolvedJwt;
  readonly #static: VerificationKey[];
  readonly #jwks: JwksCache[];
  readonly #verifyOptions: { issuer?: string[]; audience?: string[]; clockTolerance: number };

  constructor(options: ResolvedJwt, onJwksEvent?: (event: JwksEvent) => void, fetchImpl?: typeof fetch) {
    this.#options = options;
    this.#static = options.keys.filter((k) => k.jwksUrl === undefined).flatMap((k) => loadStaticKeys(k));
    this.#jwks = options.keys
      .filter((k) => k.jwksUrl !== undefined)
      .map(
        (k) =>
          new JwksCache(
            {
              url: k.jwksUrl!,
              algorithms: k.algorithms,
              refreshMs: options.jwksRefreshMs,
              minRefreshMs: options.jwksMinRefreshMs,
              graceMs: options.jwksGraceMs,
              timeoutMs: options.jwksTimeoutMs,
            },
            onJwksEvent,
            fetchImpl,
          ),
      );
    this.#verifyOptions = {
      ...(options.issuer.length > 0 ? { issuer: [...options.issuer] } : {}),
      ...(options.audience.length > 0 ? { audience: [...options.audience] } : {}),
      clockTolerance: options.leewaySec,
    };
  }

  /** Starts the JWKS fetches; call once. */
  start(): void {
    for (const cache of this.#jwks) cache.start();
  }

  close(): void {
    for (const cache of this.#jwks) cache.close();
  }

  async verify(token: string): Promise<AuthVerdict> {
    if (token.length === 0) return deny('missing', 'empty token');
    if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) return deny('invalid', `token longer than ${MAX_TOKEN_BYTES} bytes`);
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return deny('invalid', 'malformed token');
    }
    const alg = header.alg;
    if (!isJwtAlgorithm(alg)) return deny('invalid', `algorithm ${JSON.stringify(alg ?? null)} is not accepted`);
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    let keys = await this.#candidates(kid, alg);
    if (keys.length === 0 && kid !== undefined && this.#jwks.length > 0) {
      await Promise.all(this.#jwks.map((cache) => cache.refreshForUnknownKid()));
      keys = await this.#candidates(kid, alg);
    }
    if (keys.length === 0) {
      // A JWKS never fetched is the gateway's problem (the identity provider is unreachable), not the client's: retryable.
      if (this.#jwks.some((cache) => cache.size === 0)) return deny('unavailable', 'signing keys not loaded');
      return deny('invalid', kid === undefined ? `no key accepts ${alg}` : `no key "${kid}" accepts ${alg}`);
    }
    for (const { key } of keys) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key, { ...this.#verifyOptions, algorithms: [alg] }));
      } catch (err) {
        // Another key may hold the signature (tokens without kid, several keys); any other failure is the token's.
        if (err instanceof errors.JWSSignatureVerificationFailed) continue;
        if (err instanceof errors.JWTExpired) return deny('expired', 'token expired');
        // jose's messages name the claim or the defect, never the token's content.
        return deny('invalid', err instanceof errors.JOSEError ? err.message : 'malformed token');
      }
      return this.#grant(payload);
    }
    return deny('invalid', 'signature verification failed');
  }

  async #candidates(kid: string | undefined, alg: JwtAlgorithm): Promise<VerificationKey[]> {
    const out = this.#static.filter((k) => k.algorithms.includes(alg) && (k.kid === undefined || kid === undefined || k.kid === kid));
    for (const cache of this.#jwks) {
      await cache.ready();
      out.push(...cache.candidates(kid, alg));
    }
    return out;
  }

  /** The session's share of a verified token; a claim of the wrong shape refuses the token rather than half-applying it. */
  #grant(payload: JWTPayload): AuthVerdict {
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub === '') return deny('invalid', 'token has no "sub"');
    if (Buffer.byteLength(sub) > MAX_USER_ID_BYTES) return deny('invalid', `"sub" is longer than ${MAX_USER_ID_BYTES} bytes`);
    let topics: string[] = [];
    const claim = this.#options.topicsClaim;
    if (claim !== null && payload[claim] !== undefined) {
      const value = payload[claim];
      if (!Array.isArray(value) || value.length > MAX_TOKEN_TOPICS || value.some((t) => typeof t !== 'string' || t === '' || Buffer.byteLength(t) > MAX_TOPIC_BYTES)) {
        return deny('invalid', `claim "${claim}" must be an array of at most ${MAX_TOKEN_TOPICS} topic globs`);
      }
      topics = value as string[];
    }
    const attributes: Record<string, string> = {};
    for (const name of this.#options.attributeClaims) {
      const value = payload[name];
      if (value === undefined || value === null) continue;
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      if (Buffer.byteLength(text) > MAX_ATTRIBUTE_BYTES) return deny('invalid', `claim "${name}" is longer than ${MAX_ATTRIBUTE_BYTES} bytes`);
      attributes[name] = text;
    }
    return { ok: true, userId: sub, expiresAt: typeof payload.exp === 'number' ? payload.exp : 0, topics, attributes };
  }
}
