/**
 * Authentication at the upgrade, end to end: real gateways (2 workers, the verification pool), keys generated here
 * (RSA, EC, Ed25519, HMAC), a JWKS served by a local HTTP server and rotated during the test, a real grpc-js backend.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Gateway } from '../../src/gateway.ts';
import { Code, connectClient, packServerId, startMockBackend, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import { PacketKind } from '../../src/backend/proto.ts';
import { TASKS_PER_THREAD } from '../../src/supervisor/auth-pool.ts';
import { makeKey, sign, type TestKey } from '../fixtures/auth-keys.ts';
import { startJwksServer, type JwksServer } from '../fixtures/jwks-server.ts';
import { scrapeMetrics, testGateway, urlOf, waitUntil } from './helpers.ts';
import { httpPush } from './push-client.ts';
import { attempt } from './upgrade-attempt.ts';
import { rawRequest, upgradeHead } from './raw-request.ts';

const ECHO = packServerId({ serverType: 1 });
const HASHED = packServerId({ serverType: 2 });

const opens = (backend: MockBackend) => backend.packets.filter((p) => p.kind === PacketKind.OPEN).length;

describe('authentication at the upgrade', () => {
  let backend: MockBackend;
  /** The second endpoint of the hashBy "user" rule. */
  let hashed: MockBackend;
  let jwks: JwksServer;
  let gateway: Gateway;
  const rsa = makeKey('RS256', 'rsa-1');
  const rotated = makeKey('RS256', 'rsa-2');
  const ec = makeKey('ES256', 'ec-1');
  const ed = makeKey('EdDSA');
  const hmac = makeKey('HS256', 'hs-1');
  const clients: ProtocolClient[] = [];
  const connect = async (url: string, options: Parameters<typeof connectClient>[1] = {}) => {
    const client = await connectClient(url, options);
    clients.push(client);
    return client;
  };

  before(async () => {
    backend = await startMockBackend();
    hashed = await startMockBackend();
    jwks = await startJwksServer([rsa.jwk, ec.jwk]);
    gateway = await testGateway({
      routes: [
        { serverType: 1, endpoints: [backend.endpoint], notify: true },
        { serverType: 2, endpoints: [backend.endpoint, hashed.endpoint], strategy: 'consistent-hash', hashBy: 'user' },
      ],
      auth: {
        jwt: {
          keys: [
            { jwksUrl: jwks.url, algorithms: ['RS256', 'ES256'] },
            { jwk: ed.jwk, algorithms: ['EdDSA'] },
            { jwk: hmac.jwk, algorithms: ['HS256'] },
          ],
          issuer: 'https://idp.test',
          leewaySec: 0,
          topicsClaim: 'topics',
          attributeClaims: ['tenant'],
          jwksMinRefreshMs: 0,
        },
      },
    });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await gateway.close();
    await Promise.all([backend.close(), hashed.close(), jwks.close()]);
  });

  /** A token of this test's issuer; an `exp` among the claims is kept, otherwise it expires in `expIn` seconds. */
  const token = (key: TestKey, claims: Record<string, unknown> = {}, expIn = 3600) =>
    sign(key, { iss: 'https://idp.test', ...claims }, { expIn: claims.exp === undefined ? expIn : null });

  test('missing, invalid and expired tokens get 401 with a JSON body naming the code; nothing reaches a backend', async () => {
    const before = opens(backend);
    const missing = await attempt(gateway.port);
    assert.equal(missing.status, 401);
    assert.deepEqual(missing.body, { code: Code.UNAUTHORIZED, name: 'UNAUTHORIZED', reason: 'no token' });
    assert.equal(missing.headers['content-type'], 'application/json');
    assert.match(String(missing.headers['www-authenticate']), /^Bearer/);
    const forged = await token(makeKey('RS256', 'rsa-1'));
    const cases: [Record<string, string>, string, number][] = [
      [{ Authorization: `Bearer ${forged}` }, '/', Code.UNAUTHORIZED],
      [{ Authorization: `Bearer ${await token(rsa, { iss: 'https://evil.test' })}` }, '/', Code.UNAUTHORIZED],
      [{}, `/?access_token=${await token(ec, {}, -5)}`, Code.TOKEN_EXPIRED],
      [{ 'Sec-WebSocket-Protocol': 'actorgate.v1, actorgate.bearer.garbage' }, '/', Code.UNAUTHORIZED],
      [{ Authorization: 'Bearer ' }, '/', Code.UNAUTHORIZED],
    ];
    for (const [headers, path, code] of cases) {
      const refused = await attempt(gateway.port, path, headers);
      assert.equal(refused.status, 401, JSON.stringify(refused.body));
      assert.equal(refused.body.code, code, JSON.stringify(refused.body));
    }
    const scrape = await scrapeMetrics(gateway);
    assert.equal(scrape('actorgate_auth_refused_total', { reason: 'missing' }), 2, 'no token, and "Bearer " alone');
    assert.equal(scrape('actorgate_auth_refused_total', { reason: 'invalid' }), 3);
    assert.equal(scrape('actorgate_auth_refused_total', { reason: 'expired' }), 1);
    assert.equal(opens(backend), before, 'no OPEN for a refused upgrade');
    assert.equal(gateway.sessions, 0);
    // The connection is closed after the refusal, whether answered at once (no token) or after the verdict (forged),
    // not left to uWS's own timeout of about 10 s.
    for (const head of [upgradeHead('/'), upgradeHead('/', [`Authorization: Bearer ${forged}`])]) {
      const raw = await rawRequest(gateway.port, [head], { deadlineMs: 3000 });
      assert.equal(raw.status, 401);
      assert.equal(raw.code, Code.UNAUTHORIZED);
    }
  });

  test('a token from each source opens a session; the bearer subprotocol is answered with actorgate.v1 alone', async () => {
    const viaHeader = await connect(urlOf(gateway), { headers: { Authorization: `Bearer ${await token(rsa, { sub: 'h' })}` } });
    const viaQuery = await connect(urlOf(gateway, `/play?access_token=${await token(ed, { sub: 'q' })}`));
    const viaProtocol = await connect(urlOf(gateway), { protocols: ['actorgate.v1', `actorgate.bearer.${await token(hmac, { sub: 'p' })}`] });
    assert.equal(viaProtocol.ws.protocol, 'actorgate.v1');
    for (const client of [viaHeader, viaQuery, viaProtocol]) {
      client.send(1, ECHO, 'ping');
      assert.equal((await client.nextFrame()).payload.toString(), 'ping');
    }
    await backend.waitForCondition((b) => b.packets.some((p) => p.kind === PacketKind.OPEN && p.userId === 'q'));
    const open = backend.packets.find((p) => p.kind === PacketKind.OPEN && p.userId === 'q')!;
    assert.equal(open.path, '/play', 'the query (and its token) is not part of the path backends see');
  });

  test('sub is the session\'s user: user pushes and hashBy "user" work without BIND_USER; claims travel as attributes', async () => {
    const alice = await connect(urlOf(gateway), { headers: { Authorization: `Bearer ${await token(ec, { sub: 'alice', tenant: 'acme' })}` } });
    const push = await httpPush(gateway.adminPort!, { pushes: [{ userId: 'alice', msgId: 5, serverId: ECHO, payload: Buffer.from('for alice').toString('base64') }] });
    assert.deepEqual(push.summary, { accepted: 1, delivered: 1, dropped: 0 });
    assert.equal((await alice.nextFrame()).payload.toString(), 'for alice');
    alice.send(1, ECHO, 'notify');
    await alice.nextFrame();
    const open = backend.packets.find((p) => p.kind === PacketKind.OPEN && p.sessionId === alice.sessionId)!;
    assert.equal(open.userId, 'alice');
    assert.deepEqual(open.attributes, { tenant: 'acme' });
    await backend.waitForCondition((b) => b.notifications.some((n) => n.event.sessionId === alice.sessionId));
    const event = backend.notifications.find((n) => n.event.sessionId === alice.sessionId)!.event;
    assert.equal(event.userId, 'alice');
    assert.deepEqual(event.attributes, { tenant: 'acme', path: '/' });
    // hashBy "user": every session of one user reaches the same endpoint of the rule (by session id, 1 in 16 would).
    const sessions = [alice, ...(await Promise.all([1, 2, 3, 4].map(async () => connect(urlOf(gateway), { headers: { Authorization: `Bearer ${await token(rsa, { sub: 'alice' })}` } }))))];
    for (const client of sessions) {
      client.send(2, HASHED, 'hashed');
      await client.nextFrame();
    }
    const reached = (b: MockBackend) => sessions.filter((c) => b.payloadsOf(c.sessionId).some((p) => p.toString() === 'hashed')).length;
    assert.deepEqual([reached(backend) + reached(hashed), Math.max(reached(backend), reached(hashed))], [sessions.length, sessions.length]);
  });

  test('the topics claim lets a session subscribe to what topics.allow does not', async () => {
    const granted = await connect(urlOf(gateway), { headers: { Authorization: `Bearer ${await token(hmac, { sub: 'g', topics: ['team.7.*'] })}` } });
    const plain = await connect(urlOf(gateway), { headers: { Authorization: `Bearer ${await token(hmac, { sub: 'n' })}` } });
    granted.subscribe('team.7.chat');
    plain.subscribe('team.7.chat');
    granted.subscribe('team.8.chat');
    const result = (client: ProtocolClient, topic: string) => client.waitForControl('subscribe-result').then((r) => (assert.equal(r.topic, topic), r.code));
    assert.equal(await result(granted, 'team.7.chat'), 0);
    assert.equal(await result(plain, 'team.7.chat'), Code.FORBIDDEN);
    assert.equal(await result(granted, 'team.8.chat'), Code.FORBIDDEN);
  });

  test('the JWKS rotates: a new kid is fetched on demand, the old key keeps working in its grace period', async () => {
    const hits = jwks.hits;
    jwks.setKeys([rotated.jwk]);
    const client = await connect(urlOf(gateway), { headers: { Authorization: `Bearer ${await token(rotated, { sub: 'r' })}` } });
    client.send(1, ECHO, 'rotated');
    assert.equal((await client.nextFrame()).payload.toString(), 'rotated');
    assert.ok(jwks.hits > hits, 'the unknown kid fetched the document again');
    const old = await connect(urlOf(gateway), { headers: { Authorization: `Bearer ${await token(ec, { sub: 'o' })}` } });
    assert.ok(old.sessionId, 'a key dropped from the JWKS still verifies during jwksGraceMs');
  });

  test('at exp the session is closed with TOKEN_EXPIRED; a REFRESH before then keeps it open past the first exp', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const short = await token(hmac, { sub: 'sam', exp });
    const expiring = await connect(urlOf(gateway), { headers: { Authorization: `Bearer ${short}` } });
    const refreshed = await connect(urlOf(gateway), { headers: { Authorization: `Bearer ${short}` } });
    // A fresh token for another user is refused and changes nothing.
    refreshed.refresh(await token(hmac, { sub: 'eve' }));
    assert.deepEqual(await refreshed.waitForControl('refresh-result'), { type: 'refresh-result', code: Code.UNAUTHORIZED, expiresAt: 0 });
    const later = Math.floor(Date.now() / 1000) + 600;
    refreshed.refresh(await token(rotated, { sub: 'sam', exp: later }));
    assert.deepEqual(await refreshed.waitForControl('refresh-result'), { type: 'refresh-result', code: 0, expiresAt: later });
    const closed = await expiring.closed;
    assert.deepEqual(closed, { code: Code.TOKEN_EXPIRED, reason: 'token expired' });
    assert.ok(Date.now() >= exp * 1000, 'not before exp');
    await waitUntil(() => Date.now() > (exp + 1) * 1000, 5000, 'a second past the first exp');
    refreshed.send(1, ECHO, 'still here');
    assert.equal((await refreshed.nextFrame()).payload.toString(), 'still here');
    assert.equal(refreshed.closeInfo, undefined);
    const scrape = await scrapeMetrics(gateway);
    assert.equal(scrape('actorgate_auth_expired_closes_total'), 1);
    assert.equal(scrape('actorgate_auth_refresh_total', { outcome: 'ok' }), 1);
    assert.equal(scrape('actorgate_auth_refresh_total', { outcome: 'invalid' }), 1);
  });
});

describe('the verification pool is bounded', () => {
  test('past its queue upgrades get 503 AUTH_BUSY at once; a verdict that never comes is 503 AUTH_UNAVAILABLE', async () => {
    const key = makeKey('ES256', 'k');
    await using jwks = await startJwksServer([key.jwk]);
    // The pool's first JWKS fetch never ends: every verification waits for it, on the one thread.
    jwks.stall();
    const queue = 1;
    await using gateway = await testGateway({
      auth: { poolThreads: 1, poolMaxQueue: queue, timeoutMs: 60_000, jwt: { keys: [{ jwksUrl: jwks.url, algorithms: ['ES256'] }], jwksTimeoutMs: 60_000 } },
    });
    const token = await sign(key);
    const waiting = Array.from({ length: TASKS_PER_THREAD + queue }, () => attempt(gateway.port, '/', { Authorization: `Bearer ${token}` }));
    await waitUntil(async () => (await scrapeMetrics(gateway))('actorgate_auth_pending') === waiting.length, 5000, 'every upgrade waiting for its verdict');
    await waitUntil(async () => (await scrapeMetrics(gateway))('actorgate_auth_pool_queued') === queue, 5000, 'the pool queue full');
    const refused = await attempt(gateway.port, '/', { Authorization: `Bearer ${token}` });
    assert.equal(refused.status, 503);
    assert.deepEqual(refused.body, { code: Code.AUTH_BUSY, name: 'AUTH_BUSY', reason: 'verification queue full' });
    assert.equal(refused.headers['retry-after'], '1');
    jwks.release();
    for (const result of await Promise.all(waiting)) assert.equal(result.status, 101, 'the waiting upgrades complete once the keys arrive');
    const scrape = await scrapeMetrics(gateway);
    assert.equal(scrape('actorgate_auth_refused_total', { reason: 'busy' }), 1);
    assert.equal(scrape('actorgate_auth_accepted_total'), waiting.length);
  });

  test('a verdict that does not come within auth.timeoutMs refuses the upgrade with 503 AUTH_UNAVAILABLE', async () => {
    const key = makeKey('ES256', 'k');
    await using jwks = await startJwksServer([key.jwk]);
    jwks.stall();
    await using gateway = await testGateway({
      auth: { timeoutMs: 300, jwt: { keys: [{ jwksUrl: jwks.url, algorithms: ['ES256'] }], jwksTimeoutMs: 60_000 } },
    });
    const refused = await attempt(gateway.port, '/', { Authorization: `Bearer ${await sign(key)}` });
    assert.equal(refused.status, 503);
    assert.equal(refused.body.code, Code.AUTH_UNAVAILABLE);
    jwks.release();
  });
});
