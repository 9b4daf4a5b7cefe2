import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../../src/core/options.ts';
import { ConfigError } from '../../../src/core/errors.ts';

const rejects = (options: unknown, field: string, message?: RegExp) =>
  assert.throws(() => resolveConfig(options), (err: unknown) => err instanceof ConfigError && err.field === field && (message === undefined || message.test(err.message)));

describe('resolveConfig: the redis section (standalone or cluster)', () => {
  it('a cluster is a list of host:port seeds, resolved with url null', () => {
    const redis = resolveConfig({ redis: { cluster: ['10.0.0.1:7000', 'redis-b.local:7001'], healthCheckMs: 1000 } }).redis!;
    assert.deepEqual(redis, { url: null, cluster: ['10.0.0.1:7000', 'redis-b.local:7001'], prefix: 'actorgate:', healthCheckMs: 1000 });
  });

  it('exactly one of url and cluster', () => {
    rejects({ redis: { url: 'redis://h:1', cluster: ['h:2'] } }, 'redis.cluster', /not both/);
    rejects({ redis: {} }, 'redis.url', /redis\.cluster/);
  });

  it('a seed that is not host:port names its index', () => {
    rejects({ redis: { cluster: [] } }, 'redis.cluster', /non-empty/);
    rejects({ redis: { cluster: 'h:1' } }, 'redis.cluster');
    rejects({ redis: { cluster: ['h:1', 'h'] } }, 'redis.cluster[1]', /host:port/);
    rejects({ redis: { cluster: ['h:0'] } }, 'redis.cluster[0]');
    rejects({ redis: { cluster: ['redis://h:1'] } }, 'redis.cluster[0]');
  });

  it('healthCheckMs: 0 turns the probe off; below 100 (or negative) is refused', () => {
    assert.equal(resolveConfig({ redis: { url: 'redis://h:1', healthCheckMs: 0 } }).redis!.healthCheckMs, 0);
    rejects({ redis: { url: 'redis://h:1', healthCheckMs: -1 } }, 'redis.healthCheckMs');
    rejects({ redis: { url: 'redis://h:1', healthCheckMs: 50 } }, 'redis.healthCheckMs', /at least 100/);
  });

  it('limits.maxConnectionsPerUser is refused with a cluster: its scripts need a standalone server', () => {
    const auth = { jwt: { keys: [{ jwk: { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA' }, algorithms: ['HS256'] }] } };
    assert.equal(resolveConfig({ redis: { url: 'redis://h:1' }, auth, limits: { maxConnectionsPerUser: 3 } }).limits.maxConnectionsPerUser, 3);
    rejects({ redis: { cluster: ['h:1'] }, auth, limits: { maxConnectionsPerUser: 3 } }, 'limits.maxConnectionsPerUser', /standalone/);
  });
});
