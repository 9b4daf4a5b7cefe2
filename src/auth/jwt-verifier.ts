/**
 * Verifies one JWT against the configured keys and turns its claims into what a session takes (auth-verdict.ts). It
 * runs on a verification thread (workers/auth.task.ts), never on a worker actor's loop: a signature check costs about
 * 0.1–0.2 ms of CPU, enough for a reconnect storm to stall every session of a worker.
 *
 * The order matters for what a client is told: the header is read (a malformed token, or an algorithm outside the
 * supported set, `none` included, is invalid at once); the keys are those that fit its `alg` and `kid` (keyFits: the
 * same rule for static and JWKS keys), those naming its kid first, at most MAX_KEYS_TRIED of them; jose checks the
 * signature before any claim, so only a correctly signed token can be told it is expired. When no key held the
 * signature and none names the token's kid, the JWKS sources are fetched again (rate-limited) and the keys that name
 * it now are tried: a key without a kid can neither hide a rotation nor a JWKS that was never fetched.
 */
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { ResolvedJwt } from '../core/options-auth.ts';
import { deny, grantProblem, tokenLengthDenial, type AuthGrant, type AuthVerdict } from './auth-verdict.ts';
import { JwksCache, type JwksEvent } from './jwks-cache.ts';
import { isJwtAlgorithm, keyFits, loadStaticKeys, type JwtAlgorithm, type VerificationKey } from './key-material.ts';

/**
 * Signature checks one token may cost at most: a token without a kid (or one that only keys without a kid fit) is
 * tried against this many keys, not every key of every JWKS.
 */
export const MAX_KEYS_TRIED = 4;

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
    const badLength = tokenLengthDenial(Buffer.byteLength(token));
    if (badLength !== undefined) return badLength;
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return deny('invalid', 'malformed token');
    }
    const alg = header.alg;
    if (!isJwtAlgorithm(alg)) return deny('invalid', `algorithm ${JSON.stringify(alg ?? null)} is not accepted`);
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    const keys = await this.#candidates(kid, alg);
    let verdict = await this.#firstHolding(token, alg, keys);
    let tried = keys.length;
    if (verdict === undefined && kid !== undefined && this.#jwks.length > 0 && !keys.some((k) => k.kid === kid)) {
      // No key names this kid: the JWKS may have rotated since it was fetched.
      await Promise.all(this.#jwks.map((cache) => cache.refreshForUnknownKid()));
      const named = (await this.#candidates(kid, alg)).filter((k) => k.kid === kid);
      tried += named.length;
      verdict = await this.#firstHolding(token, alg, named);
    }
    if (verdict !== undefined) return verdict;
    // A JWKS never fetched is the gateway's problem (the identity provider is unreachable), not the client's: retryable.
    if (this.#jwks.some((cache) => cache.size === 0)) return deny('unavailable', 'signing keys not loaded');
    if (tried === 0) return deny('invalid', kid === undefined ? `no key accepts ${alg}` : `no key "${kid}" accepts ${alg}`);
    return deny('invalid', 'signature verification failed');
  }

  /** The verdict of the first key that holds the token's signature; undefined when none does. */
  async #firstHolding(token: string, alg: JwtAlgorithm, keys: readonly VerificationKey[]): Promise<AuthVerdict | undefined> {
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
    return undefined;
  }

  /** The keys that fit, those naming the token's kid first (a stable sort keeps configuration order), at most MAX_KEYS_TRIED. */
  async #candidates(kid: string | undefined, alg: JwtAlgorithm): Promise<VerificationKey[]> {
    const out = this.#static.filter((k) => keyFits(k, kid, alg));
    for (const cache of this.#jwks) {
      await cache.ready();
      out.push(...cache.candidates(kid, alg));
    }
    if (kid !== undefined) out.sort((a, b) => Number(a.kid !== kid) - Number(b.kid !== kid));
    return out.length > MAX_KEYS_TRIED ? out.slice(0, MAX_KEYS_TRIED) : out;
  }

  /** The session's share of a verified token; a claim of the wrong shape refuses the token rather than half-applying it. */
  #grant(payload: JWTPayload): AuthVerdict {
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub === '') return deny('invalid', 'token has no "sub"');
    const iss = payload.iss;
    if (iss !== undefined && typeof iss !== 'string') return deny('invalid', '"iss" is not a string');
    let topics: string[] = [];
    const claim = this.#options.topicsClaim;
    if (claim !== null && payload[claim] !== undefined) {
      const value = payload[claim];
      if (!Array.isArray(value) || value.some((t) => typeof t !== 'string')) return deny('invalid', `claim "${claim}" must be an array of topic globs`);
      topics = value as string[];
    }
    const attributes: Record<string, string> = {};
    for (const name of this.#options.attributeClaims) {
      const value = payload[name];
      if (value === undefined || value === null) continue;
      attributes[name] = typeof value === 'string' ? value : JSON.stringify(value);
    }
    const expiresAt = typeof payload.exp === 'number' ? payload.exp : 0;
    const grant: AuthGrant = { ok: true, userId: sub, ...(iss !== undefined ? { issuer: iss } : {}), expiresAt, topics, attributes };
    const problem = grantProblem(grant);
    return problem === undefined ? grant : deny('invalid', problem);
  }
}
