/**
 * JWKS documents an attacker or a broken identity provider could serve (docs/PROTOCOL.md §11, "JWKS"), from a real
 * HTTP server: a body that drips in slower than the deadline or streams past 1 MiB without a content-length, and keys
 * that must never verify (alg none, secrets) or that are ambiguous (no kid, a kid twice).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JwksCache, MAX_JWKS_BYTES, type JwksEvent } from '../../../src/auth/jwks-cache.ts';
import { JwtVerifier } from '../../../src/auth/jwt-verifier.ts';
import { resolveAuth } from '../../../src/core/options-auth.ts';
import { makeKey, sign } from '../../fixtures/auth-keys.ts';
import { startJwksServer } from '../../fixtures/jwks-server.ts';

function verifierFor(url: string): JwtVerifier {
  const auth = resolveAuth({ jwt: { keys: [{ jwksUrl: url, algorithms: ['ES256'] }], jwksMinRefreshMs: 0 } })!;
  const verifier = new JwtVerifier(auth.jwt!);
  verifier.start();
  return verifier;
}

describe('hostile JWKS documents', () => {
  it('a body that drips in past the deadline, or streams past 1 MiB with no content-length, fails the fetch and keeps the keys', async () => {
    const a = makeKey('ES256', 'a');
    await using server = await startJwksServer([a.jwk]);
    const events: JwksEvent[] = [];
    const jwks = new JwksCache({ url: server.url, algorithms: ['ES256'], refreshMs: 3_600_000, minRefreshMs: 0, graceMs: 0, timeoutMs: 300 }, (e) => events.push(e));
    jwks.start();
    await jwks.ready();
    server.setKeys([makeKey('ES256', 'b').jwk]);
    server.drip(40, 25);
    const started = Date.now();
    await jwks.refresh();
    assert.ok(Date.now() - started < 800, `the deadline covers the body too (${Date.now() - started} ms)`);
    assert.deepEqual(events.at(-1), { type: 'failed', url: server.url, error: 'no answer within 300 ms' });
    server.setRaw(200, JSON.stringify({ keys: [], pad: 'x'.repeat(MAX_JWKS_BYTES) }));
    server.drip(16, 0);
    await jwks.refresh();
    assert.deepEqual(events.at(-1), { type: 'failed', url: server.url, error: `document is over ${MAX_JWKS_BYTES} bytes` });
    assert.deepEqual(jwks.candidates(undefined, 'ES256').map((k) => k.kid), ['a'], 'the keys held before');
    jwks.close();
  });

  it('keys for alg none, secrets and keys of another algorithm are skipped; a token cannot use them', async () => {
    const good = makeKey('ES256', 'good');
    const rs = makeKey('RS256', 'rs');
    const secret = makeKey('HS256', 'hs');
    const none = makeKey('ES256', 'none');
    const junk = [null, 'key', { kid: 'no-kty' }, { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', kid: 'bad-point' }] as unknown as Record<string, unknown>[];
    await using server = await startJwksServer([good.jwk, { ...none.jwk, alg: 'none' }, secret.jwk, { ...secret.jwk, kid: 'hs2', alg: 'HS256' }, rs.jwk, ...junk]);
    const verifier = verifierFor(server.url);
    assert.ok((await verifier.verify(await sign(good))).ok);
    assert.equal((await verifier.verify(await sign(secret))).ok, false, 'HS256 is not accepted, and a JWKS secret is no key');
    assert.equal((await verifier.verify(await sign(rs))).ok, false);
    assert.equal((await verifier.verify(await sign(none))).ok, false, 'a JWK that says alg none verifies nothing, even its own ES256 signature');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'mallory' })).toString('base64url')}.`;
    const verdict = await verifier.verify(unsigned);
    assert.ok(!verdict.ok && verdict.refusal === 'invalid', JSON.stringify(verdict));
    verifier.close();
  });

  it('a key without a kid verifies any token, as a static one does; a kid listed twice tries both keys', async () => {
    const anonymous = makeKey('ES256');
    const first = makeKey('ES256', 'twin');
    const second = makeKey('ES256', 'twin');
    await using server = await startJwksServer([anonymous.jwk, first.jwk, second.jwk]);
    const verifier = verifierFor(server.url);
    assert.ok((await verifier.verify(await sign(anonymous))).ok, 'no kid in the token: any key may hold its signature');
    assert.ok((await verifier.verify(await sign(anonymous, {}, { header: { kid: 'other' } }))).ok, 'a kid no key names: the key without one is tried');
    assert.equal((await verifier.verify(await sign(makeKey('ES256'), {}, { header: { kid: 'other' } }))).ok, false, 'and holds no other signature');
    assert.ok((await verifier.verify(await sign(first))).ok);
    assert.ok((await verifier.verify(await sign(second))).ok, 'the second key of the same kid');
    assert.equal((await verifier.verify(await sign(makeKey('ES256', 'twin')))).ok, false, 'a third key claiming the kid');
    verifier.close();
  });
});
