import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { ANONYMOUS, AuthServiceClient } from '../../../src/auth/auth-service-client.ts';
import { resolveService, type AuthServiceOptions } from '../../../src/core/options-auth-service.ts';
import { waitUntil } from '../../../src/testkit/index.ts';
import { startAuthService } from '../../fixtures/auth-service.ts';

const logger = pino({ level: 'silent' });
const client = (options: Partial<AuthServiceOptions> & { endpoint: string }) => new AuthServiceClient(resolveService(options), logger);
const request = (token: string, extra: Record<string, unknown> = {}) => ({ id: 1, token, remoteAddress: '10.0.0.1', path: '/play', ...extra });

describe('AuthServiceClient', () => {
  it('asks with the token, headers, address and path; an allow becomes a grant, a refusal a denial with its code', async () => {
    await using service = await startAuthService((req) =>
      req.token === 'good'
        ? { allow: true, userId: 'ann', attributes: { tenant: 'acme' }, topics: ['team.*'], expiresAt: 1_900_000_000 }
        : { allow: false, code: 4599, reason: 'banned' },
    );
    const auth = client({ endpoint: service.endpoint });
    assert.deepEqual(await auth.verify(request('good', { headers: { cookie: 'sid=1' } })), {
      ok: true, userId: 'ann', expiresAt: 1_900_000_000, topics: ['team.*'], attributes: { tenant: 'acme' },
    });
    assert.deepEqual(service.calls[0], { token: 'good', headers: { cookie: 'sid=1' }, remoteAddress: '10.0.0.1', path: '/play', refresh: false, userId: '' });
    assert.deepEqual(await auth.verify(request('bad')), { ok: false, refusal: 'denied', reason: 'banned', code: 4599 });
    const plain = client({ endpoint: service.endpoint, cacheTtlMs: 0 });
    service.answer = () => ({ allow: false, code: 200 });
    assert.deepEqual(await plain.verify(request('x')), { ok: false, refusal: 'denied', reason: 'refused by the auth service' }, 'a code outside 4000–4999 is not passed on');
    service.answer = () => ({ allow: true });
    assert.equal(await plain.verify(request('y')), ANONYMOUS, 'an allow with no user is an anonymous session');
    assert.deepEqual(auth.stats, { allowed: 1, denied: 1, failed: 0, fastFailed: 0, cacheHits: 0 });
    await Promise.all([auth.close(), plain.close()]);
  });

  it('caches answers for the same request, shares one call among concurrent ones, and holds a bounded number', async () => {
    await using service = await startAuthService((req) => ({ allow: true, userId: req.token }));
    const auth = client({ endpoint: service.endpoint, cacheMaxEntries: 2 });
    const [a, b] = await Promise.all([auth.verify(request('u1')), auth.verify(request('u1'))]);
    assert.deepEqual(a, b);
    assert.equal(service.calls.length, 1, 'the second joined the first call');
    await auth.verify(request('u1'));
    assert.equal(service.calls.length, 1, 'the cached answer');
    await auth.verify(request('u1', { path: '/other' }));
    assert.equal(service.calls.length, 2, 'another path is another question');
    await auth.verify(request('u2'));
    await auth.verify(request('u1'));
    assert.equal(service.calls.length, 4, 'u1 at /play was the least recently used of three, past the bound of 2');
    assert.equal(auth.stats.cacheHits, 1);
    await auth.close();
  });

  it('an allow is never reused past its expiry', async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 1;
    await using service = await startAuthService(() => ({ allow: true, userId: 'ann', expiresAt }));
    const auth = client({ endpoint: service.endpoint });
    assert.equal((await auth.verify(request('t'))).ok, true);
    await waitUntil(() => Date.now() >= expiresAt * 1000, 3000);
    service.answer = () => ({ allow: true, userId: 'ann', expiresAt: expiresAt + 60 });
    assert.equal((await auth.verify(request('t'))).ok, true);
    assert.equal(service.calls.length, 2, 'asked again once the first allow expired');
    await auth.close();
  });

  it('an allow whose expires_at is past is an expired token; one past 2^32 - 1 (milliseconds by mistake) is an answer out of bounds', async () => {
    const nowSec = Math.floor(Date.now() / 1000);
    await using service = await startAuthService(() => ({ allow: true, userId: 'ann', expiresAt: nowSec - 5 }));
    const auth = client({ endpoint: service.endpoint, cacheTtlMs: 0 });
    assert.deepEqual(await auth.verify(request('old')), { ok: false, refusal: 'expired', reason: 'expires_at is past' });
    service.answer = () => ({ allow: true, userId: 'ann', expiresAt: Date.now() });
    const millis = await auth.verify(request('ms'));
    assert.equal(!millis.ok && millis.refusal, 'unavailable', JSON.stringify(millis));
    service.answer = () => ({ allow: true, userId: 'ann', expiresAt: 2 ** 32 - 1 });
    const latest = await auth.verify(request('latest'));
    assert.ok(latest.ok && latest.expiresAt === 2 ** 32 - 1, 'the latest a u32 holds is still an expiry');
    assert.deepEqual(auth.stats, { allowed: 1, denied: 1, failed: 1, fastFailed: 0, cacheHits: 0 });
    await auth.close();
  });

  it("a REFRESH carries the session's user, and is another question than the same token's upgrade", async () => {
    await using service = await startAuthService((req) => ({ allow: true, userId: req.userId || 'ann' }));
    const auth = client({ endpoint: service.endpoint });
    await auth.verify(request('t'));
    await auth.verify(request('t', { refresh: true, userId: 'ann' }));
    assert.deepEqual(service.calls.map((c) => [c.refresh, c.userId]), [[false, ''], [true, 'ann']]);
    await auth.close();
  });

  it('fails closed: errors and missed deadlines are AUTH_UNAVAILABLE, never cached; then the circuit answers without calling', async () => {
    await using service = await startAuthService(() => grpc.status.INTERNAL);
    const auth = client({ endpoint: service.endpoint, circuitFailureThreshold: 2, circuitOpenMs: 60_000, timeoutMs: 200 });
    assert.deepEqual(await auth.verify(request('t')), { ok: false, refusal: 'unavailable', reason: 'auth service: INTERNAL' });
    service.answer = () => 'hang';
    assert.deepEqual(await auth.verify(request('t')), { ok: false, refusal: 'unavailable', reason: 'no answer within 200 ms' });
    assert.equal(auth.circuit, 'open');
    const calls = service.calls.length;
    assert.deepEqual(await auth.verify(request('t')), { ok: false, refusal: 'unavailable', reason: 'auth service circuit open' });
    assert.equal(service.calls.length, calls, 'refused without a call');
    assert.deepEqual(auth.stats, { allowed: 0, denied: 0, failed: 2, fastFailed: 1, cacheHits: 0 });
    await auth.close();
  });

  it('half-open lets one probe through; its answer closes the circuit', async () => {
    await using service = await startAuthService(() => grpc.status.UNAVAILABLE);
    const auth = client({ endpoint: service.endpoint, circuitFailureThreshold: 1, circuitOpenMs: 100, cacheTtlMs: 0 });
    await auth.verify(request('t'));
    assert.equal(auth.circuit, 'open');
    await new Promise((resolve) => setTimeout(resolve, 150));
    service.answer = () => ({ allow: true, userId: 'ann' });
    const [probe, second] = await Promise.all([auth.verify(request('t')), auth.verify(request('other'))]);
    assert.equal(probe.ok, true);
    assert.equal(!second.ok && second.reason, 'auth service circuit open', 'one call at a time while half-open');
    assert.equal(auth.circuit, 'closed');
    assert.equal((await auth.verify(request('other'))).ok, true);
    await auth.close();
  });

  it('half-open, only the probe moves the circuit: a call made before it opened neither closes it nor lets a second probe through', async () => {
    // A deadline longer than the open period: calls from before the outage are still out when the circuit half-opens.
    let releaseOld!: () => void;
    let releaseProbe!: () => void;
    await using service = await startAuthService((req) => {
      if (req.token === 'old') return new Promise((resolve) => (releaseOld = () => resolve({ allow: true, userId: 'old' })));
      if (req.token === 'probe') return new Promise((resolve) => (releaseProbe = () => resolve(grpc.status.UNAVAILABLE)));
      return grpc.status.UNAVAILABLE;
    });
    const auth = client({ endpoint: service.endpoint, circuitFailureThreshold: 1, circuitOpenMs: 100, timeoutMs: 5000, cacheTtlMs: 0 });
    const old = auth.verify(request('old'));
    await waitUntil(() => service.calls.length === 1, 2000);
    await auth.verify(request('fails'));
    assert.equal(auth.circuit, 'open');
    await new Promise((resolve) => setTimeout(resolve, 150));
    const probe = auth.verify(request('probe'));
    await waitUntil(() => service.calls.length === 3, 2000);
    assert.equal(auth.circuit, 'half-open');
    releaseOld();
    assert.equal((await old).ok, true, 'the old call still gets its answer');
    assert.equal(auth.circuit, 'half-open', 'an answer to a call from before the outage does not close the circuit');
    const during = await auth.verify(request('during'));
    assert.equal(!during.ok && during.reason, 'auth service circuit open', 'still one probe at a time');
    assert.equal(service.calls.length, 3);
    releaseProbe();
    assert.equal((await probe).ok, false);
    assert.equal(auth.circuit, 'open', "the probe's failure opens it again");
    await auth.close();
  });

  it('with failOpen, an upgrade that cannot be checked opens an anonymous session; a REFRESH still needs the service', async () => {
    await using service = await startAuthService(() => grpc.status.UNAVAILABLE);
    const auth = client({ endpoint: service.endpoint, failOpen: true });
    assert.equal(await auth.verify(request('t')), ANONYMOUS);
    assert.equal((await auth.verify(request('t', { refresh: true }))).ok, false);
    await auth.close();
  });

  it('an answer out of bounds is the service failing, not a grant', async () => {
    await using service = await startAuthService(() => ({ allow: true, userId: 'u'.repeat(257) }));
    const auth = client({ endpoint: service.endpoint });
    for (const answer of [{ userId: 'u'.repeat(257) }, { userId: 'u', attributes: { path: '/x' } }, { userId: 'u', topics: [''] }]) {
      service.answer = () => ({ allow: true, ...answer });
      const verdict = await auth.verify(request(JSON.stringify(answer)));
      assert.equal(!verdict.ok && verdict.refusal, 'unavailable', JSON.stringify(answer));
    }
    assert.equal(auth.stats.failed, 3);
    await auth.close();
  });
});
