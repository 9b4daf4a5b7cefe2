/**
 * Keys and tokens of the authentication benchmark: an RS256 (2048-bit) and an ES256 (P-256) key pair made for the
 * run, the gateway given their public JWKs, and distinct signed tokens for the established sessions and for each
 * algorithm's storm, written once to a file that the child processes read.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { SignJWT } from 'jose';

export const ALGORITHMS = ['RS256', 'ES256'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface TokenFile {
  /** Public keys for the gateway's auth.jwt.keys. */
  keys: { jwk: Record<string, unknown>; algorithms: Algorithm[] }[];
  /** One per established session (ES256). */
  sessions: string[];
  /** Distinct tokens per algorithm, cycled through by the storm's connectors. */
  storm: Record<Algorithm, string[]>;
}

async function signMany(alg: Algorithm, kid: string, count: number, prefix: string, privateKey: import('node:crypto').KeyObject): Promise<string[]> {
  const exp = Math.floor(Date.now() / 1000) + 6 * 3600;
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(await new SignJWT({ sub: `${prefix}-${i}` }).setProtectedHeader({ alg, kid }).setIssuedAt().setExpirationTime(exp).sign(privateKey));
  return out;
}

export async function writeTokens(path: string, sessions: number, perAlgorithm: number): Promise<TokenFile> {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const file: TokenFile = {
    keys: [
      { jwk: { ...(rsa.publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'rs' }, algorithms: ['RS256'] },
      { jwk: { ...(ec.publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'es' }, algorithms: ['ES256'] },
    ],
    sessions: await signMany('ES256', 'es', sessions, 'session', ec.privateKey),
    storm: {
      RS256: await signMany('RS256', 'rs', perAlgorithm, 'storm-rs', rsa.privateKey),
      ES256: await signMany('ES256', 'es', perAlgorithm, 'storm-es', ec.privateKey),
    },
  };
  writeFileSync(path, JSON.stringify(file));
  return file;
}
