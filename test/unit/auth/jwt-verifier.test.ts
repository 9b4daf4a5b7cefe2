import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, base64url } from 'jose';
import { JwtVerifier } from '../../../src/auth/jwt-verifier.ts';
import { JWT_ALGORITHMS, type JwtAlgorithm } from '../../../src/auth/key-material.ts';
import { resolveAuth, type JwtOptions } from '../../../src/core/options-auth.ts';
import { makeKey, sign, type TestKey } from '../../fixtures/auth-keys.ts';

/** A verifier built from config exactly as the gateway builds it (resolveAuth checks the keys first). */
function verifier(jwt: Partial<JwtOptions> & Pick<JwtOptions, 'keys'>): JwtVerifier {
  return new JwtVerifier(resolveAuth({ jwt })!.jwt!);
}

const keyOf = (key: TestKey, algorithms: string[] = [key.alg]) => ({ jwk: key.jwk, algorithms });
const now = () => Math.floor(Date.now() / 1000);

describe('JwtVerifier', () => {
  it('verifies every supported algorithm with its own kind of key, and sub becomes the user', async () => {
    for (const alg of JWT_ALGORITHMS) {
      const key = makeKey(alg);
      const verdict = await verifier({ keys: [keyOf(key)] }).verify(await sign(key, { sub: `user-${alg}` }));
      assert.ok(verdict.ok, `${alg}: ${JSON.stringify(verdict)}`);
      assert.equal(verdict.userId, `user-${alg}`);
    }
  });

  it('refuses an HS256 token signed with the RSA public key\'s PEM as the HMAC secret (algorithm confusion)', async () => {
    const rsa = makeKey('RS256');
    const forged = await new SignJWT({ sub: 'mallory' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(rsa.pem));
    for (const keys of [[{ jwk: rsa.jwk, algorithms: ['RS256'] }], [{ jwk: rsa.jwk, algorithms: ['RS256', 'PS256'] }]]) {
      const verdict = await verifier({ keys }).verify(forged);
      assert.deepEqual(verdict.ok, false);
      assert.equal(!verdict.ok && verdict.refusal, 'invalid');
    }
    // Nor can the configuration ask for it: HS256 does not fit an RSA key.
    assert.throws(() => resolveAuth({ jwt: { keys: [{ jwk: rsa.jwk, algorithms: ['HS256'] }] } }), /auth\.jwt\.keys\[0\]\.jwk: HS256 cannot be verified with an RSA key/);
  });

  it('refuses alg none, an algorithm the key does not allow, and a token that is not a JWS', async () => {
    const key = makeKey('ES256');
    const v = verifier({ keys: [keyOf(key)] });
    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none' }))}.${base64url.encode(JSON.stringify({ sub: 'x', exp: now() + 60 }))}.`;
    for (const token of [unsigned, 'not-a-token', 'a.b.c', '']) {
      const verdict = await v.verify(token);
      assert.equal(verdict.ok, false, token);
    }
    const es384 = makeKey('ES384');
    const other = await verifier({ keys: [keyOf(key)] }).verify(await sign(es384));
    assert.deepEqual(other, { ok: false, refusal: 'invalid', reason: 'no key accepts ES384' });
  });

  it('a signature by another key of the same algorithm is invalid, never expired', async () => {
    const mine = makeKey('RS256');
    const theirs = makeKey('RS256');
    const verdict = await verifier({ keys: [keyOf(mine)] }).verify(await sign(theirs, {}, { expIn: -3600 }));
    assert.deepEqual(verdict, { ok: false, refusal: 'invalid', reason: 'signature verification failed' });
  });

  it('exp and nbf allow the configured leeway, and no more', async () => {
    const key = makeKey('HS256');
    const v = verifier({ keys: [keyOf(key)], leewaySec: 30 });
    assert.ok((await v.verify(await sign(key, {}, { expIn: -20 }))).ok, 'expired 20 s ago, within 30 s of leeway');
    assert.deepEqual(await v.verify(await sign(key, {}, { expIn: -40 })), { ok: false, refusal: 'expired', reason: 'token expired' });
    assert.ok((await v.verify(await sign(key, { nbf: now() + 20 }))).ok, 'valid in 20 s, within leeway');
    const early = await v.verify(await sign(key, { nbf: now() + 40 }));
    assert.equal(!early.ok && early.refusal, 'invalid');
    const strict = verifier({ keys: [keyOf(key)], leewaySec: 0 });
    assert.equal((await strict.verify(await sign(key, {}, { expIn: -2 }))).ok, false);
  });

  it('checks iss and aud when configured (one audience of several must match)', async () => {
    const key = makeKey('EdDSA');
    const v = verifier({ keys: [keyOf(key)], issuer: 'https://idp.example', audience: ['game', 'chat'] });
    assert.ok((await v.verify(await sign(key, { iss: 'https://idp.example', aud: ['other', 'chat'] }))).ok);
    for (const claims of [{ iss: 'https://evil.example', aud: 'game' }, { aud: 'game' }, { iss: 'https://idp.example', aud: 'other' }, { iss: 'https://idp.example' }]) {
      const verdict = await v.verify(await sign(key, claims));
      assert.equal(!verdict.ok && verdict.refusal, 'invalid', JSON.stringify(claims));
    }
  });

  it('the grant keeps the token\'s iss (a sub is unique only within its issuer); an exp past 2^32 - 1 is refused', async () => {
    const key = makeKey('ES256');
    const v = verifier({ keys: [keyOf(key)], issuer: ['https://a.example', 'https://b.example'] });
    const fromB = await v.verify(await sign(key, { iss: 'https://b.example', sub: '42' }));
    assert.ok(fromB.ok && fromB.userId === '42' && fromB.issuer === 'https://b.example', JSON.stringify(fromB));
    const any = verifier({ keys: [keyOf(key)] });
    const none = await any.verify(await sign(key, { sub: '42' }));
    assert.ok(none.ok && none.issuer === undefined);
    // Milliseconds by mistake: a REFRESH_RESULT's u32 could not carry it, and the session would never expire.
    const millis = await any.verify(await sign(key, { exp: Date.now() }, { expIn: null }));
    assert.equal(!millis.ok && millis.refusal, 'invalid', JSON.stringify(millis));
    assert.ok((await any.verify(await sign(key, { exp: 2 ** 32 - 1 }, { expIn: null }))).ok);
  });

  it('chooses the key by kid, and tries every key that fits a token without one', async () => {
    const a = makeKey('RS256', 'a');
    const b = makeKey('RS256', 'b');
    const v = verifier({ keys: [keyOf(a), keyOf(b)] });
    assert.ok((await v.verify(await sign(b))).ok);
    const unnamed = { ...b, kid: undefined };
    assert.ok((await v.verify(await sign(unnamed))).ok, 'no kid: both keys are tried');
    assert.deepEqual(await v.verify(await sign({ ...b, kid: 'c' })), { ok: false, refusal: 'invalid', reason: 'no key "c" accepts RS256' });
  });

  it('takes sub, the topics claim and the configured attribute claims; a claim of the wrong shape refuses the token', async () => {
    const key = makeKey('HS512');
    const v = verifier({ keys: [keyOf(key)], topicsClaim: 'topics', attributeClaims: ['tenant', 'roles', 'absent'] });
    const verdict = await v.verify(await sign(key, { sub: 'bob', topics: ['team.7.*'], tenant: 'acme', roles: ['admin'], secret: 'not passed' }));
    assert.ok(verdict.ok);
    assert.equal(verdict.userId, 'bob');
    assert.deepEqual(verdict.topics, ['team.7.*']);
    assert.deepEqual(verdict.attributes, { tenant: 'acme', roles: '["admin"]' });
    assert.ok(verdict.expiresAt > now());
    for (const claims of [{ sub: '' }, { sub: 7 }, { topics: 'team.*' }, { topics: [''] }, { tenant: 'x'.repeat(1025) }, { sub: 'u'.repeat(257) }]) {
      const refused = await v.verify(await sign(key, claims as never));
      assert.equal(!refused.ok && refused.refusal, 'invalid', JSON.stringify(claims).slice(0, 60));
    }
    const noExp = await v.verify(await sign(key, {}, { expIn: null }));
    assert.ok(noExp.ok && noExp.expiresAt === 0, 'a token without exp never expires');
  });

  it('HMAC keys take HS* only, at least 32 bytes; a key of one kind is never offered a token of another', async () => {
    const hs = makeKey('HS256');
    assert.throws(() => resolveAuth({ jwt: { keys: [{ jwk: hs.jwk, algorithms: ['RS256'] }] } }), /RS256 cannot be verified with an HMAC secret/);
    assert.throws(() => resolveAuth({ jwt: { keys: [{ jwk: { kty: 'oct', k: Buffer.alloc(16).toString('base64url') }, algorithms: ['HS256'] }] } }), /at least 32/);
    const ec = makeKey('ES256');
    const v = verifier({ keys: [keyOf(hs, ['HS256', 'HS384']), keyOf(ec)] });
    for (const alg of ['HS256', 'ES256'] as JwtAlgorithm[]) assert.ok((await v.verify(await sign(alg === 'HS256' ? hs : ec))).ok, alg);
  });
});
