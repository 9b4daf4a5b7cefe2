/** The push client towards gateways with push.apiKeys and push.tls, found through the registry. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashApiKey } from '../../src/core/api-keys.ts';
import { connectPushClient, type PushClientEvent } from '../../src/push-client/index.ts';
import { connectClient, packServerId, waitUntil } from '../../src/testkit/index.ts';
import { CertDir } from '../fixtures/tls-certs.ts';
import { startRedisServer } from './redis-server.ts';
import { testGateway } from './helpers.ts';

const KEY = 'push-client-test-key-0123456789';
const SERVER_ID = packServerId({ serverType: 9 });

test('the push client presents its API key and verifies the gateway against its CA; a missing key is refused and reported', async () => {
  const redis = await startRedisServer();
  const certs = new CertDir();
  try {
    const ca = certs.ca('push-ca');
    const server = certs.server(ca, 'gateway');
    await using gateway = await testGateway({ workers: 1, redis: { url: redis.url }, push: { port: 0, apiKeys: [hashApiKey(KEY)], tls: { cert: server.certFile, key: server.keyFile } } });
    const client = await connectClient(`ws://127.0.0.1:${gateway.port}/`);
    const events: PushClientEvent[] = [];
    {
      await using pusher = await connectPushClient({ redis: { url: redis.url }, apiKey: KEY, tls: { ca: ca.pem }, onEvent: (e) => events.push(e) });
      assert.equal(pusher.gateways()[0]?.pushTls, true, 'the registry says the push port serves TLS');
      pusher.pushToSession(client.sessionId, 1, SERVER_ID, Buffer.from('over tls'));
      const frame = await client.waitForFrame((f) => f.msgId === 1);
      assert.equal(frame.payload.toString(), 'over tls');
      assert.ok(events.some((e) => e.type === 'gateway-up'));
      assert.equal(pusher.stats().viaRedis, 0);
    }
    // Without the key the stream is refused at its start (4521), reported as down, and pushes for it are held, then
    // dropped and reported; none reaches the session.
    const refused: PushClientEvent[] = [];
    await using unkeyed = await connectPushClient({ redis: { url: redis.url }, tls: { ca: ca.pem }, maxBufferAgeMs: 200, reconnect: { initialMs: 50, maxMs: 200 }, onEvent: (e) => refused.push(e) });
    await waitUntil(() => refused.some((e) => e.type === 'gateway-down' && /4521 API_KEY_REQUIRED/.test(e.error)), 5000, 'the refusal');
    unkeyed.pushToSession(client.sessionId, 2, SERVER_ID, Buffer.from('no key'));
    await waitUntil(() => unkeyed.stats().dropped.expired === 1, 5000, 'the held push to expire');
    assert.ok(refused.some((e) => e.type === 'drop' && e.reason === 'expired' && e.count === 1));
    assert.equal(client.frames.filter((f) => f.msgId === 2).length, 0);
    client.terminate();
  } finally {
    certs.remove();
    await redis.stop();
  }
});
