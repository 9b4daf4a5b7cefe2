import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { loadStaticKeys, parseKeyText, algorithmsFor } from '../../../src/auth/key-material.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import { resolveAuth } from '../../../src/core/options-auth.ts';
import { keyDir, makeKey, writeKey } from '../../fixtures/auth-keys.ts';

/** resolveAuth({ jwt: { keys: [key] } }) must fail naming `field`, with `message`. */
function refuses(key: unknown, field: string, message: RegExp): void {
  assert.throws(
    () => resolveAuth({ jwt: { keys: [key] } }),
    (err: unknown) => err instanceof ConfigError && err.field === field && message.test(err.message),
    `${field} ${message}`,
  );
}

test('a key file may hold a PEM public key, a PEM private key (its public half is used), a JWK or a JWK Set', () => {
  const dir = keyDir();
  const rsa = makeKey('RS256');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const ed = makeKey('EdDSA', 'ed-1');
  const es = makeKey('ES256', 'es-1');
  const files = {
    spki: writeKey(dir, 'rsa.pem', rsa.pem!),
    pkcs8: writeKey(dir, 'ec.key', privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
    jwk: writeKey(dir, 'ed.json', JSON.stringify(ed.jwk)),
    jwks: writeKey(dir, 'set.json', JSON.stringify({ keys: [es.jwk, { ...makeKey('ES256').jwk, kid: 'es-2' }] })),
  };
  assert.deepEqual(loadStaticKeys({ file: files.spki, algorithms: ['RS256', 'PS256'] }).map((k) => [k.kid, k.algorithms]), [[undefined, ['RS256', 'PS256']]]);
  const ec = loadStaticKeys({ file: files.pkcs8, algorithms: ['ES384'] });
  assert.equal(ec[0]!.key.type, 'public', 'only the public half is kept');
  assert.deepEqual(loadStaticKeys({ file: files.jwk, algorithms: ['EdDSA'] }).map((k) => k.kid), ['ed-1']);
  assert.deepEqual(loadStaticKeys({ file: files.jwks, algorithms: ['ES256'] }).map((k) => k.kid), ['es-1', 'es-2']);
  assert.deepEqual(loadStaticKeys({ file: files.spki, kid: 'main', algorithms: ['RS256'] }).map((k) => k.kid), ['main'], 'a configured kid names a PEM key');
  // Through the config: a relative path is resolved, and the resolved entry keeps only what the threads need.
  const config = resolveAuth({ jwt: { keys: [{ file: files.spki, algorithms: ['RS256'] }] } })!;
  assert.deepEqual(config.jwt!.keys, [{ file: files.spki, algorithms: ['RS256'] }]);
});

test('a certificate file gives its public key', { skip: !hasOpenssl() && 'openssl is not installed' }, () => {
  const dir = keyDir();
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=idp', '-days', '1', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
  assert.deepEqual(loadStaticKeys({ file: join(dir, 'c.pem'), algorithms: ['ES256'] })[0]!.algorithms, ['ES256']);
});

test('what each kind of key can verify follows from the key alone', () => {
  const kinds = ['HS256', 'RS256', 'ES256', 'ES384', 'EdDSA'] as const;
  const possible = kinds.map((alg) => algorithmsFor(parseKeyText(JSON.stringify(makeKey(alg).jwk))[0]!.key));
  assert.deepEqual(possible, [['HS256', 'HS384', 'HS512'], ['RS256', 'RS384', 'RS512', 'PS256'], ['ES256'], ['ES384'], ['EdDSA']]);
});

test('bad key sources stop the start, naming the field and the reason', () => {
  const dir = keyDir();
  const ec = makeKey('ES256');
  refuses({ file: join(dir, 'missing.pem'), algorithms: ['RS256'] }, 'auth.jwt.keys[0].file', /cannot read .*ENOENT/);
  refuses({ file: writeKey(dir, 'junk.pem', 'hello'), algorithms: ['RS256'] }, 'auth.jwt.keys[0].file', /expected a PEM key/);
  refuses({ file: writeKey(dir, 'bad.pem', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'), algorithms: ['RS256'] }, 'auth.jwt.keys[0].file', /not a usable PEM key/);
  refuses({ file: writeKey(dir, 'empty.json', '{"keys":[]}'), algorithms: ['RS256'] }, 'auth.jwt.keys[0].file', /no keys/);
  refuses({ jwk: ec.jwk, algorithms: ['ES384'] }, 'auth.jwt.keys[0].jwk', /ES384 cannot be verified with an EC P-256 key/);
  refuses({ jwk: { ...ec.jwk, alg: 'ES384' }, algorithms: ['ES256'] }, 'auth.jwt.keys[0].jwk', /the JWK says alg ES384/);
  refuses({ jwk: ec.jwk, algorithms: [] }, 'auth.jwt.keys[0].algorithms', /non-empty array/);
  refuses({ jwk: ec.jwk, algorithms: ['none'] }, 'auth.jwt.keys[0].algorithms[0]', /must be one of HS256/);
  refuses({ jwk: ec.jwk, algorithms: ['ES256', 'ES256'] }, 'auth.jwt.keys[0].algorithms', /twice/);
  refuses({ jwk: ec.jwk, file: 'x', algorithms: ['ES256'] }, 'auth.jwt.keys[0]', /exactly one of file, jwk, jwksUrl \(got file, jwk\)/);
  refuses({ jwksUrl: 'ftp://idp/jwks', algorithms: ['ES256'] }, 'auth.jwt.keys[0].jwksUrl', /http/);
  refuses({ jwksUrl: 'https://idp/jwks', algorithms: ['ES256', 'HS256'] }, 'auth.jwt.keys[0].algorithms', /HS256 cannot come from a JWKS/);
  refuses({ jwksUrl: 'https://idp/jwks', kid: 'a', algorithms: ['ES256'] }, 'auth.jwt.keys[0].kid', /a JWKS names its own kids/);
  refuses({ jwk: ec.jwk, algorithms: ['ES256'], extra: 1 }, 'auth.jwt.keys[0].extra', /unknown field/);
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
