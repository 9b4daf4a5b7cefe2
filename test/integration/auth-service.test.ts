/**
 * Delegated authentication end to end: a real gateway (2 workers) asking a real grpc-js GatewayAuth service
 * (proto/auth.proto) about each upgrade and REFRESH, with its cache, its deadline and failing closed when it is down.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { Gateway } from '../../src/gateway.ts';
import { Code, connectClient, packServerId, startMockBackend, type MockBackend } from '../../src/testkit/index.ts';
import { PacketKind } from '../../src/backend/proto.ts';
import { startAuthService, type AuthServiceFixture } from '../fixtures/auth-service.ts';
import { scrapeMetrics, testGateway, urlOf } from './helpers.ts';
import { attempt } from './upgrade-attempt.ts';

const ECHO = packServerId({ serverType: 1 });

describe('delegated authentication (auth.service)', () => {
  let backend: MockBackend;
  let service: AuthServiceFixture;
  let gateway: Gateway;
  const exp = () => Math.floor(Date.now() / 1000) + 3600;

  before(async () => {
    backend = await startMockBackend();
    // Sessions by cookie (no token at all), or by token; "down" answers UNAVAILABLE, as a failing service would.
    service = await startAuthService((req) => {
      if (req.token === 'down') return grpc.status.UNAVAILABLE;
      if (req.headers.cookie === 'sid=ann') return { allow: true, userId: 'ann', attributes: { plan: 'gold' }, expiresAt: exp() };
      if (req.token.startsWith('user:')) return { allow: true, userId: req.token.slice(5), expiresAt: req.refresh ? exp() + 7200 : exp() };
      return { allow: false, code: 4599, reason: 'who are you' };
    });
    gateway = await testGateway({
      routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
      auth: { required: false, service: { endpoint: service.endpoint, headers: ['cookie'], circuitFailureThreshold: 100 } },
    });
  });

  after(async () => {
    await gateway.close();
    await Promise.all([backend.close(), service.close()]);
  });

  test('the service decides from the headers it asked for: a cookie alone opens a session with its user and attributes', async () => {
    const client = await connectClient(urlOf(gateway, '/lobby'), { headers: { Cookie: 'sid=ann', 'X-Other': 'not sent' } });
    client.send(1, ECHO, 'hi');
    assert.equal((await client.nextFrame()).payload.toString(), 'hi');
    const call = service.calls.find((c) => c.headers.cookie === 'sid=ann')!;
    assert.deepEqual({ ...call, remoteAddress: undefined }, { token: '', headers: { cookie: 'sid=ann' }, remoteAddress: undefined, path: '/lobby', refresh: false, userId: '' });
    const open = backend.packets.find((p) => p.kind === PacketKind.OPEN && p.sessionId === client.sessionId)!;
    assert.equal(open.userId, 'ann');
    assert.deepEqual(open.attributes, { plan: 'gold' });
    await client.close();
  });

  test('a refusal is a 401 with the service\'s code and reason; the answer is cached for the same request', async () => {
    const calls = service.calls.length;
    for (let i = 0; i < 3; i++) {
      const refused = await attempt(gateway.port, '/', { Authorization: 'Bearer nobody' });
      assert.equal(refused.status, 401);
      assert.deepEqual(refused.body, { code: 4599, name: 'CODE_4599', reason: 'who are you' });
    }
    assert.equal(service.calls.length - calls, 1, 'asked once; the other two came from the cache');
    const scrape = await scrapeMetrics(gateway);
    assert.equal(scrape('actorgate_auth_service_calls_total', { outcome: 'denied' }), 1);
    assert.equal(scrape('actorgate_auth_service_cache_hits_total'), 2);
    assert.equal(scrape('actorgate_auth_refused_total', { reason: 'denied' }), 3);
  });

  test('a REFRESH is asked of the service as one, and moves the session\'s deadline', async () => {
    const client = await connectClient(urlOf(gateway), { headers: { Authorization: 'Bearer user:bob' } });
    client.refresh('user:bob');
    const result = await client.waitForControl('refresh-result');
    assert.equal(result.code, 0);
    assert.ok(result.expiresAt > exp() + 3600);
    assert.ok(service.calls.some((c) => c.refresh && c.token === 'user:bob' && c.path === '/' && c.userId === 'bob'), "asked with the session's user");
    client.refresh('user:eve');
    assert.equal((await client.waitForControl('refresh-result')).code, Code.UNAUTHORIZED, 'another user');
    await client.close();
  });

  test('while the service cannot answer, upgrades are refused with 503 AUTH_UNAVAILABLE (fail closed)', async () => {
    const refused = await attempt(gateway.port, '/', { Authorization: 'Bearer down' });
    assert.equal(refused.status, 503);
    assert.equal(refused.body.code, Code.AUTH_UNAVAILABLE);
    const scrape = await scrapeMetrics(gateway);
    assert.equal(scrape('actorgate_auth_service_calls_total', { outcome: 'failed' }), 1);
    assert.equal(scrape('actorgate_auth_refused_total', { reason: 'unavailable' }), 1);
  });
});
