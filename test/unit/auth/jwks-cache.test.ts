import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JwksCache, MAX_JWKS_BYTES, type JwksEvent, type JwksOptions } from '../../../src/auth/jwks-cache.ts';
import { JwtVerifier } from '../../../src/auth/jwt-verifier.ts';
import { resolveAuth } from '../../../src/core/options-auth.ts';
import { waitUntil } from '../../../src/testkit/index.ts';
import { makeKey, sign } from '../../fixtures/auth-keys.ts';
import { startJwksServer } from '../../fixtures/jwks-server.ts';

function cache(url: string, options: Partial<JwksOptions> = {}) {
  const events: JwksEvent[] = [];
  const jwks = new JwksCache({ url, algorithms: ['RS256', 'ES256'], refreshMs: 3_600_000, minRefreshMs: 60_000, graceMs: 60_000, timeoutMs: 2000, ...options }, (e) => events.push(e));
  return { jwks, events };
}

const kids = (keys: { kid: string | undefined }[]) => keys.map((k) => k.kid).sort();

describe('JwksCache', () => {
  it('fetches at start; a key dropped from the document keeps verifying for the grace period, then is gone', async () => {
    const a = makeKey('RS256', 'a');
    const b = makeKey('RS256', 'b');
    await using server = await startJwksServer([a.jwk]);
    const { jwks, events } = cache(server.url, { graceMs: 10_000 });
    jwks.start();
    await jwks.ready();
    assert.deepEqual(kids(jwks.candidates(undefined, 'RS256')), ['a']);
    server.setKeys([b.jwk]);
    await jwks.refresh();
    assert.deepEqual(kids(jwks.candidates(undefined, 'RS256')), ['a', 'b'], 'a is retired, not dropped');
    assert.deepEqual(kids(jwks.candidates('a', 'RS256', Date.now() + 9000)), ['a']);
    assert.deepEqual(kids(jwks.candidates('a', 'RS256', Date.now() + 11_000)), [], 'past the grace period');
    assert.equal(jwks.size, 1);
    assert.deepEqual(events.map((e) => e.type), ['refreshed', 'refreshed']);
    jwks.close();
  });

  it('an unknown kid fetches again at most once per minRefreshMs; concurrent callers share one fetch', async () => {
    await using server = await startJwksServer([makeKey('ES256', 'a').jwk]);
    const { jwks } = cache(server.url, { minRefreshMs: 60_000 });
    jwks.start();
    await jwks.ready();
    assert.equal(server.hits, 1);
    // The start fetch was just now: a flood of made-up kids costs nothing more.
    assert.deepEqual(await Promise.all([jwks.refreshForUnknownKid(), jwks.refreshForUnknownKid()]), [false, false]);
    assert.equal(server.hits, 1);
    const later = Date.now() + 61_000;
    assert.deepEqual(await Promise.all([jwks.refreshForUnknownKid(later), jwks.refreshForUnknownKid(later)]), [true, true]);
    assert.equal(server.hits, 2, 'the second caller joined the first fetch');
    jwks.close();
  });

  it('a failed fetch keeps the keys held: HTTP errors, bad JSON, no usable key, an oversized document, no answer', async () => {
    const a = makeKey('ES256', 'a');
    await using server = await startJwksServer([a.jwk]);
    const { jwks, events } = cache(server.url, { timeoutMs: 300 });
    jwks.start();
    await jwks.ready();
    const broken: [number, string, RegExp][] = [
      [500, 'oops', /HTTP 500/],
      [200, '{"keys": [', /not JSON/],
      [200, '{"key": []}', /no "keys" array/],
      [200, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }, { ...makeKey('ES256').jwk, use: 'enc' }, makeKey('ES384').jwk] }), /no usable key \(3 skipped\)/],
      [200, JSON.stringify({ keys: [], pad: 'x'.repeat(MAX_JWKS_BYTES) }), /over/],
    ];
    for (const [status, body, error] of broken) {
      server.setRaw(status, body);
      await jwks.refresh();
      const last = events.at(-1)!;
      assert.ok(last.type === 'failed' && error.test(last.error), `${error}: ${JSON.stringify(last)}`);
      assert.deepEqual(kids(jwks.candidates(undefined, 'ES256')), ['a']);
    }
    server.stall();
    await jwks.refresh();
    const last = events.at(-1)!;
    assert.ok(last.type === 'failed' && /no answer within 300 ms/.test(last.error), JSON.stringify(last));
    assert.deepEqual(kids(jwks.candidates('a', 'ES256')), ['a']);
    jwks.close();
  });

  it('takes only signature keys that fit the allow-list; secrets and other uses are skipped', async () => {
    const rsa = makeKey('RS256', 'rsa');
    await using server = await startJwksServer([
      rsa.jwk,
      { kty: 'oct', k: Buffer.alloc(32).toString('base64url'), kid: 'secret' },
      { ...makeKey('ES256', 'enc').jwk, use: 'enc' },
      makeKey('EdDSA', 'ed').jwk,
      { ...makeKey('RS256', 'ps-only').jwk, alg: 'PS256' },
    ]);
    const { jwks, events } = cache(server.url, { algorithms: ['RS256'] });
    jwks.start();
    await jwks.ready();
    assert.deepEqual(kids(jwks.candidates(undefined, 'RS256')), ['rsa']);
    assert.deepEqual(jwks.candidates('secret', 'HS256' as never), []);
    assert.deepEqual(events[0], { type: 'refreshed', url: server.url, keys: 1, skipped: 4 });
    jwks.close();
  });

  it('the verifier finds a rotated-in key by refetching on its unknown kid', async () => {
    const a = makeKey('ES256', 'a');
    const b = makeKey('ES256', 'b');
    await using server = await startJwksServer([a.jwk]);
    const auth = resolveAuth({ jwt: { keys: [{ jwksUrl: server.url, algorithms: ['ES256'] }], jwksMinRefreshMs: 0 } })!;
    const verifier = new JwtVerifier(auth.jwt!);
    verifier.start();
    assert.ok((await verifier.verify(await sign(a))).ok);
    server.setKeys([b.jwk]);
    assert.ok((await verifier.verify(await sign(b))).ok, 'b is fetched on demand');
    assert.ok((await verifier.verify(await sign(a))).ok, 'a is in its grace period');
    assert.equal(server.hits, 2);
    const unknown = await verifier.verify(await sign(makeKey('ES256', 'z')));
    assert.deepEqual(unknown, { ok: false, refusal: 'invalid', reason: 'no key "z" accepts ES256' });
    verifier.close();
    await waitUntil(() => server.hits === 3, 2000);
  });

  it('while a JWKS has never been fetched, tokens are unavailable (retryable), not invalid', async () => {
    await using server = await startJwksServer();
    server.setRaw(503, 'down');
    const auth = resolveAuth({ jwt: { keys: [{ jwksUrl: server.url, algorithms: ['ES256'] }], jwksMinRefreshMs: 0 } })!;
    const verifier = new JwtVerifier(auth.jwt!);
    verifier.start();
    const key = makeKey('ES256', 'a');
    assert.deepEqual(await verifier.verify(await sign(key)), { ok: false, refusal: 'unavailable', reason: 'signing keys not loaded' });
    server.setKeys([key.jwk]);
    assert.ok((await verifier.verify(await sign(key))).ok, 'the unknown kid fetched it once the provider was back');
    verifier.close();
  });
});
