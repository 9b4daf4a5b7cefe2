import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JwksCache, MAX_JWKS_BYTES, MAX_RETIRED_KEYS, type JwksEvent, type JwksOptions } from '../../../src/auth/jwks-cache.ts';
import { JwtVerifier, MAX_KEYS_TRIED } from '../../../src/auth/jwt-verifier.ts';
import { resolveAuth } from '../../../src/core/options-auth.ts';
import { waitUntil } from '../../../src/testkit/index.ts';
import { keyDir, makeKey, sign, writeKey } from '../../fixtures/auth-keys.ts';
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
  it('a failed first fetch is retried on a short backoff while no key is held, not at the next period', async () => {
    const key = makeKey('ES256');
    await using server = await startJwksServer();
    server.setRaw(503, 'down');
    // A period of an hour: only the retry can fetch again (a token without a kid never asks for a refetch).
    const auth = resolveAuth({ jwt: { keys: [{ jwksUrl: server.url, algorithms: ['ES256'] }], jwksRefreshMs: 3_600_000, jwksMinRefreshMs: 60_000 } })!;
    const verifier = new JwtVerifier(auth.jwt!);
    verifier.start();
    const token = await sign(key);
    assert.deepEqual(await verifier.verify(token), { ok: false, refusal: 'unavailable', reason: 'signing keys not loaded' });
    server.setKeys([key.jwk]);
    await waitUntil(async () => (await verifier.verify(token)).ok, 3000);
    assert.equal(server.hits, 2, 'one retry, about a second after the failure');
    verifier.close();
  });

  it('a static key without a kid hides no JWKS: 503 until it is fetched, then unknown kids fetch it again at once', async () => {
    const pem = makeKey('RS256');
    const k1 = makeKey('RS256', 'k1');
    const k2 = makeKey('RS256', 'k2');
    await using server = await startJwksServer();
    server.setRaw(503, 'down');
    const file = writeKey(keyDir(), 'static.pem', pem.pem!);
    const auth = resolveAuth({ jwt: { keys: [{ file, algorithms: ['RS256'] }, { jwksUrl: server.url, algorithms: ['RS256'] }], jwksMinRefreshMs: 0 } })!;
    const verifier = new JwtVerifier(auth.jwt!);
    verifier.start();
    assert.deepEqual(await verifier.verify(await sign(k1)), { ok: false, refusal: 'unavailable', reason: 'signing keys not loaded' });
    assert.ok((await verifier.verify(await sign(pem))).ok, 'the static key verifies its own tokens meanwhile');
    server.setKeys([k1.jwk]);
    assert.ok((await verifier.verify(await sign(k1))).ok, 'k1 is fetched on demand once the provider is back');
    server.setKeys([k2.jwk]);
    assert.ok((await verifier.verify(await sign(k2))).ok, 'a rotated-in kid is fetched on demand');
    const hits = server.hits;
    assert.ok((await verifier.verify(await sign({ ...pem, kid: 'any' }))).ok, 'a key without a kid verifies a token naming any kid');
    assert.equal(server.hits, hits, 'without a fetch: the static key held the signature first');
    assert.deepEqual(await verifier.verify(await sign(makeKey('RS256', 'k1'))), { ok: false, refusal: 'invalid', reason: 'signature verification failed' });
    verifier.close();
  });

  it(`a token is tried against at most ${MAX_KEYS_TRIED} keys, those naming its kid first`, async () => {
    const keys = Array.from({ length: MAX_KEYS_TRIED + 1 }, () => makeKey('ES256'));
    const named = makeKey('ES256', 'named');
    await using server = await startJwksServer([...keys.map((k) => k.jwk), named.jwk]);
    const auth = resolveAuth({ jwt: { keys: [{ jwksUrl: server.url, algorithms: ['ES256'] }] } })!;
    const verifier = new JwtVerifier(auth.jwt!);
    verifier.start();
    assert.ok((await verifier.verify(await sign(keys[MAX_KEYS_TRIED - 1]!))).ok, `the ${MAX_KEYS_TRIED}th key without a kid is tried`);
    const last = await verifier.verify(await sign(keys[MAX_KEYS_TRIED]!));
    assert.deepEqual(last, { ok: false, refusal: 'invalid', reason: 'signature verification failed' }, 'the next one is not');
    assert.ok((await verifier.verify(await sign(named))).ok, 'a key naming the kid comes before the keys without one');
    verifier.close();
  });

  it(`keeps at most ${MAX_RETIRED_KEYS} retired keys, dropping the longest retired first`, async () => {
    const keys = Array.from({ length: MAX_RETIRED_KEYS + 3 }, (_, i) => makeKey('ES256', `k${i}`));
    await using server = await startJwksServer([keys[0]!.jwk]);
    const { jwks } = cache(server.url, { graceMs: 3_600_000 });
    jwks.start();
    await jwks.ready();
    for (const key of keys.slice(1)) {
      server.setKeys([key.jwk]);
      await jwks.refresh();
    }
    assert.equal(jwks.size, MAX_RETIRED_KEYS + 1, 'the current key and the retired ones kept');
    // k0 … k101 retired, one after another: the two retired longest are the ones dropped.
    assert.deepEqual(kids(jwks.candidates('k0', 'ES256')), [], 'the first retired is gone');
    assert.deepEqual(kids(jwks.candidates('k1', 'ES256')), [], 'and the second');
    assert.deepEqual(kids(jwks.candidates('k2', 'ES256')), ['k2'], 'later ones are still in their grace period');
    jwks.close();
  });
});
