import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePushClientOptions, type PushClientOptions } from '../../../src/push-client/push-client-options.ts';
import { ConfigError } from '../../../src/core/errors.ts';

const names = (options: unknown, field: string) =>
  assert.throws(() => resolvePushClientOptions(options as PushClientOptions), (err) => err instanceof ConfigError && err.field === field, field);

describe('push client options', () => {
  it('defaults: direct fan-out and session pushes, Redis for an unreachable owner, bounded hold, jittered backoff', () => {
    const resolved = resolvePushClientOptions({ redis: { url: 'redis://127.0.0.1:6379' } });
    assert.equal(resolved.redis.prefix, 'actorgate:');
    assert.equal(resolved.fanout, 'direct');
    assert.equal(resolved.sessions, 'direct');
    assert.equal(resolved.unreachableOwner, 'redis');
    assert.equal(resolved.maxBuffered, 4096);
    assert.equal(resolved.maxBufferAgeMs, 2000);
    assert.deepEqual(resolved.reconnect, { initialMs: 100, maxMs: 5000, multiplier: 2 });
    assert.ok(Object.isFrozen(resolved));
  });

  it('names the bad field', () => {
    names({}, 'redis');
    names({ redis: {} }, 'redis');
    names({ redis: { url: 'redis://a:1', cluster: ['a:1'] } }, 'redis');
    names({ redis: { url: 'http://a' } }, 'redis.url');
    names({ redis: { cluster: ['nohost'] } }, 'redis.cluster');
    names({ redis: { url: 'redis://a:1' }, fanout: 'everywhere' }, 'fanout');
    names({ redis: { url: 'redis://a:1' }, maxBuffered: 0 }, 'maxBuffered');
    names({ redis: { url: 'redis://a:1' }, reconnect: { initialMs: 500, maxMs: 100 } }, 'reconnect.maxMs');
    names({ redis: { url: 'redis://a:1' }, tls: { cert: 'PEM' } }, 'tls.key');
    names({ redis: { url: 'redis://a:1' }, apiKey: '' }, 'apiKey');
  });
});
