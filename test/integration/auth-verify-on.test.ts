/**
 * `auth.verifyOn: 'worker'` (for measurement): the same verdicts as the pool, given on each worker's own loop, with
 * no pool in the process; and the workers' event-loop delay histogram in /metrics, which is what it is measured by.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Gateway } from '../../src/gateway.ts';
import { Code, connectClient, packServerId, startMockBackend, type MockBackend } from '../../src/testkit/index.ts';
import { makeKey, sign } from '../fixtures/auth-keys.ts';
import { scrapeMetrics, testGateway, urlOf, waitUntil } from './helpers.ts';
import { attempt } from './upgrade-attempt.ts';

const ECHO = packServerId({ serverType: 1 });

describe('auth.verifyOn "worker"', () => {
  let backend: MockBackend;
  let gateway: Gateway;
  const rsa = makeKey('RS256', 'rsa-1');
  const ec = makeKey('ES256', 'ec-1');

  before(async () => {
    backend = await startMockBackend();
    gateway = await testGateway({
      routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
      auth: { verifyOn: 'worker', jwt: { keys: [{ jwk: rsa.jwk, algorithms: ['RS256'] }, { jwk: ec.jwk, algorithms: ['ES256'] }], leewaySec: 0 } },
    });
  });

  after(async () => {
    await gateway.close();
    await backend.close();
  });

  test('verifies on the worker: valid tokens open sessions, forged and expired ones get 401; no pool runs', async () => {
    for (const key of [rsa, ec]) {
      const client = await connectClient(urlOf(gateway), { headers: { Authorization: `Bearer ${await sign(key, { sub: `u-${key.alg}` })}` } });
      client.send(1, ECHO, 'ping');
      assert.equal((await client.nextFrame()).payload.toString(), 'ping');
      await client.close();
    }
    const forged = await attempt(gateway.port, '/', { Authorization: `Bearer ${await sign(makeKey('RS256', 'rsa-1'), { sub: 'x' })}` });
    assert.equal(forged.status, 401);
    assert.equal(forged.body.code, Code.UNAUTHORIZED);
    const expired = await attempt(gateway.port, `/?access_token=${await sign(ec, { sub: 'x' }, { expIn: -5 })}`);
    assert.equal(expired.status, 401);
    assert.equal(expired.body.code, Code.TOKEN_EXPIRED);
    const scrape = await scrapeMetrics(gateway);
    assert.equal(scrape('actorgate_auth_accepted_total'), 2);
    assert.equal(scrape('actorgate_auth_refused_total', { reason: 'invalid' }), 1);
    assert.equal(scrape('actorgate_auth_refused_total', { reason: 'expired' }), 1);
    assert.deepEqual(scrape.samples('actorgate_auth_pool_queued'), [], 'no verification pool in the process');
  });

  test('each worker exports its event-loop delay as a histogram', async () => {
    let scrape = await scrapeMetrics(gateway);
    await waitUntil(async () => {
      scrape = await scrapeMetrics(gateway);
      return [0, 1].every((worker) => scrape('actorgate_worker_event_loop_delay_seconds_count', { worker }) > 0);
    }, 5000);
    for (const worker of [0, 1]) {
      const count = scrape('actorgate_worker_event_loop_delay_seconds_count', { worker });
      assert.equal(scrape('actorgate_worker_event_loop_delay_seconds_bucket', { worker, le: '+Inf' }), count);
      const buckets = scrape.samples('actorgate_worker_event_loop_delay_seconds_bucket', { worker });
      assert.ok(buckets.every((value, i) => i === 0 || value >= buckets[i - 1]!), 'cumulative buckets');
      assert.ok(scrape('actorgate_worker_event_loop_delay_seconds_sum', { worker }) >= 0);
    }
  });
});

describe('auth.verifyOn in the config', () => {
  test('defaults to pool; worker needs auth.jwt; another value is refused, naming the field', async () => {
    const { resolveConfig } = await import('../../src/core/options.ts');
    const { ConfigError } = await import('../../src/core/errors.ts');
    const keys = [{ jwk: makeKey('ES256').jwk, algorithms: ['ES256'] }];
    assert.equal(resolveConfig({ auth: { jwt: { keys } } }).auth!.verifyOn, 'pool');
    assert.equal(resolveConfig({ auth: { verifyOn: 'worker', jwt: { keys } } }).auth!.verifyOn, 'worker');
    for (const auth of [{ verifyOn: 'worker', service: { endpoint: '127.0.0.1:7300' } }, { verifyOn: 'main', jwt: { keys } }]) {
      assert.throws(() => resolveConfig({ auth }), (err: unknown) => err instanceof ConfigError && err.field === 'auth.verifyOn');
    }
  });
});
