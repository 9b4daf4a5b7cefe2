/**
 * Verification keys as node:crypto KeyObjects, and which JWS algorithms each may verify. Used twice: synchronously by
 * the config check (so a bad key file or an algorithm that does not fit its key names its field at start) and by each
 * verification thread when it loads its keys.
 *
 * Algorithm confusion is settled here, from the key's type and never from the token: an HMAC secret verifies HS*
 * only, an asymmetric key never HS* (so a token "signed" with a public key's PEM as an HMAC secret finds no key).
 */
import { readFileSync } from 'node:fs';
import { createPublicKey, createSecretKey, X509Certificate, type KeyObject } from 'node:crypto';

/** Every algorithm the gateway verifies; `none` is not one of them. */
export const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export const HMAC_ALGORITHMS: readonly JwtAlgorithm[] = ['HS256', 'HS384', 'HS512'];

/** Shorter HMAC secrets can be brute-forced offline from one token. */
export const MIN_HMAC_SECRET_BYTES = 32;

/** One usable key: the KeyObject, the `kid` it is published under (if any) and what it may verify. */
export interface VerificationKey {
  readonly key: KeyObject;
  readonly kid: string | undefined;
  readonly algorithms: readonly JwtAlgorithm[];
}

/**
 * The one kid rule, for static and JWKS keys alike: a key whose allow-list has the token's `alg` may verify it if the
 * key has no kid, the token names none, or both name the same. A key that names the token's kid is tried before one
 * that has none (jwt-verifier.ts).
 */
export function keyFits(key: VerificationKey, kid: string | undefined, alg: JwtAlgorithm): boolean {
  return key.algorithms.includes(alg) && (key.kid === undefined || kid === undefined || key.kid === kid);
}

export class KeyMaterialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyMaterialError';
  }
}

export function isJwtAlgorithm(value: unknown): value is JwtAlgorithm {
  return typeof value === 'string' && (JWT_ALGORITHMS as readonly string[]).includes(value);
}

/** The algorithms a key of this type can verify at all. */
export function algorithmsFor(key: KeyObject): readonly JwtAlgorithm[] {
  if (key.type === 'secret') return HMAC_ALGORITHMS;
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256'];
    case 'rsa-pss':
      return ['PS256'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'prime256v1' ? ['ES256'] : curve === 'secp384r1' ? ['ES384'] : [];
    }
    case 'ed25519':
      return ['EdDSA'];
    default:
      return [];
  }
}

function describe(key: KeyObject): string {
  if (key.type === 'secret') return 'an HMAC secret';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return `an ${key.asymmetricKeyType.toUpperCase()} key`;
    case 'ec':
      return `an EC ${curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve} key`;
    case 'ed25519':
      return 'an Ed25519 key';
    default:
      return `a ${key.asymmetricKeyType} key`;
  }
}

/**
 * The allow-list checked against the key: every entry must fit its type. Throws naming the misfit, which is what a
 * config error should say (`RS256 cannot be verified with an ec prime256v1 key`).
 */
export function checkAlgorithms(key: KeyObject, allowed: readonly JwtAlgorithm[]): void {
  const possible = algorithmsFor(key);
  if (possible.length === 0) throw new KeyMaterialError(`${describe(key)} cannot verify any supported algorithm`);
  for (const alg of allowed) {
    if (!possible.includes(alg)) throw new KeyMaterialError(`${alg} cannot be verified with ${describe(key)} (it allows ${possible.join(', ')})`);
  }
  if (key.type === 'secret' && key.symmetricKeySize! < MIN_HMAC_SECRET_BYTES) {
    throw new KeyMaterialError(`the HMAC secret has ${key.symmetricKeySize} bytes; at least ${MIN_HMAC_SECRET_BYTES} are required`);
  }
}

type Jwk = Record<string, unknown>;

function isObject(value: unknown): value is Jwk {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One JWK as a KeyObject: `oct` becomes an HMAC secret, anything else the public half (a private JWK's public part is
 * derived, so a key file may hold either). `allowSecret` is false for a fetched JWKS: a published set has no business
 * carrying secrets, and accepting one would let whoever serves it mint HS tokens.
 */
export function importJwk(jwk: unknown, allowSecret: boolean): { key: KeyObject; kid: string | undefined; alg: string | undefined } {
  if (!isObject(jwk)) throw new KeyMaterialError('a JWK must be a JSON object');
  const kid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : undefined;
  const alg = typeof jwk.alg === 'string' ? jwk.alg : undefined;
  if (jwk.kty === 'oct') {
    if (!allowSecret) throw new KeyMaterialError('an "oct" (secret) JWK is not accepted here');
    if (typeof jwk.k !== 'string') throw new KeyMaterialError('an "oct" JWK needs a base64url "k"');
    return { key: createSecretKey(Buffer.from(jwk.k, 'base64url')), kid, alg };
  }
  try {
    return { key: createPublicKey({ key: jwk as never, format: 'jwk' }), kid, alg };
  } catch (err) {
    throw new KeyMaterialError(`not a usable JWK (${(err as Error).message})`);
  }
}

/** A JWK's own constraints: `use` other than "sig", or `key_ops` without "verify", rule it out for tokens. */
export function jwkIsForSignatures(jwk: Jwk): boolean {
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return false;
  return true;
}

/** The allow-list narrowed by a JWK's own `alg`, when it names one; empty when they do not meet. */
export function narrowByJwkAlg(allowed: readonly JwtAlgorithm[], alg: string | undefined): readonly JwtAlgorithm[] {
  if (alg === undefined) return allowed;
  return allowed.filter((a) => a === alg);
}

/**
 * A key file's text: a PEM public key, private key (its public half is used) or certificate; or JSON holding a JWK or
 * a JWK Set (`{ "keys": [...] }`). An HMAC secret is given as an `oct` JWK, never as raw bytes, so that a PEM can
 * never be mistaken for a secret.
 */
export function parseKeyText(text: string): { key: KeyObject; kid: string | undefined; alg: string | undefined }[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (err) {
      throw new KeyMaterialError(`not valid JSON (${(err as Error).message})`);
    }
    if (isObject(json) && Array.isArray(json.keys)) {
      if (json.keys.length === 0) throw new KeyMaterialError('the JWK Set has no keys');
      return json.keys.map((jwk) => importJwk(jwk, true));
    }
    return [importJwk(json, true)];
  }
  if (trimmed.startsWith('-----BEGIN CERTIFICATE-----')) {
    try {
      return [{ key: new X509Certificate(trimmed).publicKey, kid: undefined, alg: undefined }];
    } catch (err) {
      throw new KeyMaterialError(`not a usable certificate (${(err as Error).message})`);
    }
  }
  if (trimmed.startsWith('-----BEGIN')) {
    try {
      return [{ key: createPublicKey(trimmed), kid: undefined, alg: undefined }];
    } catch (err) {
      throw new KeyMaterialError(`not a usable PEM key (${(err as Error).message})`);
    }
  }
  throw new KeyMaterialError('expected a PEM key or certificate, or a JWK / JWK Set as JSON');
}

/** A configured static key: a file (PEM, JWK or JWK Set) or an inline JWK, with its allow-list. */
export interface StaticKeySource {
  readonly file?: string;
  readonly jwk?: unknown;
  /** The key's `kid` (see keyFits): a token naming another kid never uses it; default: the JWK's own, none for a PEM (any token). */
  readonly kid?: string;
  readonly algorithms: readonly JwtAlgorithm[];
}

/** Reads and checks a static key source; throws a KeyMaterialError saying what is wrong with it. */
export function loadStaticKeys(source: StaticKeySource): VerificationKey[] {
  let parsed: ReturnType<typeof parseKeyText>;
  if (source.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (err) {
      throw new KeyMaterialError(`cannot read ${source.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    parsed = parseKeyText(text);
  } else {
    parsed = [importJwk(source.jwk, true)];
  }
  return parsed.map(({ key, kid, alg }) => {
    checkAlgorithms(key, source.algorithms);
    const algorithms = narrowByJwkAlg(source.algorithms, alg);
    if (algorithms.length === 0) throw new KeyMaterialError(`the JWK says alg ${alg}, which algorithms does not list`);
    return { key, kid: source.kid ?? kid, algorithms };
  });
}
