import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOptions, UsageError } from '../../../src/cli/args.ts';

describe('actorgate instances (command line)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'actorgate-instances-'));
  const file = join(dir, 'gateway.json');
  writeFileSync(file, JSON.stringify({ redis: { url: 'redis://file:6379', prefix: 'file:' } }));

  it('takes the Redis from a flag over a variable over the config file, and the prefix likewise', () => {
    assert.deepEqual(buildOptions(['instances', '--config', file], {}).instances, { url: 'redis://file:6379', cluster: null, prefix: 'file:', json: false });
    assert.deepEqual(buildOptions(['instances', '--config', file], { ACTORGATE_REDIS: 'redis://env:1', ACTORGATE_REDIS_PREFIX: 'env:' }).instances, { url: 'redis://env:1', cluster: null, prefix: 'env:', json: false });
    assert.deepEqual(buildOptions(['instances', '--config', file, '--redis', 'redis://flag:1', '--json'], { ACTORGATE_REDIS: 'redis://env:1' }).instances, { url: 'redis://flag:1', cluster: null, prefix: 'file:', json: true });
    assert.deepEqual(buildOptions(['instances', '--redis-cluster', 'a:1, b:2'], {}).instances, { url: null, cluster: ['a:1', 'b:2'], prefix: 'actorgate:', json: false });
    assert.deepEqual(buildOptions(['instances'], {}).instances, { url: null, cluster: null, prefix: 'actorgate:', json: false });
  });

  it('refuses an unknown option and shows help for --help', () => {
    assert.throws(() => buildOptions(['instances', '--port', '1'], {}), UsageError);
    assert.equal(buildOptions(['instances', '--help'], {}).command, 'help');
  });
});
