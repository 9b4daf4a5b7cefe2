import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DrainPlan } from '../../../src/supervisor/drain-plan.ts';
import { resolveConfig } from '../../../src/core/options.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import { buildOptions, UsageError } from '../../../src/cli/args.ts';

const target = (sessions = 0) => ({ sessions: () => sessions, drainCloses: () => 0, sendDrains: () => {} });

describe('DrainPlan', () => {
  it('drainTimeoutMs caps the whole drain: the window is cut to what the pre-drain delay leaves of it', async () => {
    const now = Date.now();
    const request = { windowMs: 30_000, preDrainDelayMs: 4000, timeoutMs: 10_000, reconnectAfterMs: 1000, url: '' };
    const plan = new DrainPlan(request, target(), now);
    const progress = plan.progress();
    assert.equal(progress.state, 'pre-drain');
    assert.equal(progress.windowMs, 6000);
    assert.equal(progress.drainAt, now + 4000);
    assert.equal(progress.deadlineAt, now + 10_000);
    assert.deepEqual(progress.reconnectDue, { from: now + 4000, to: now + 10_000 });
    plan.closing();
    await plan.done;
    assert.equal(plan.state, 'closing');
  });

  it('a config whose pre-drain delay does not fit in the timeout is refused, naming the field', () => {
    const field = (err: ConfigError) => err.field === 'shutdown.preDrainDelayMs';
    assert.throws(() => resolveConfig({ shutdown: { preDrainDelayMs: 20_000 } }), field);
    const long = resolveConfig({ shutdown: { drainWindowMs: 60_000 } }).shutdown.drainWindowMs;
    assert.equal(long, 60_000, 'a long window is cut at drain time');
  });
});

describe('actorgate drain arguments', () => {
  it('defaults to the admin port on loopback, takes --admin and --window-ms, the key from ACTORGATE_ADMIN_KEY', () => {
    assert.deepEqual(buildOptions(['drain'], {}).drain, { admin: 'http://127.0.0.1:7001' });
    const argv = ['drain', '--admin', 'https://10.0.0.4:9001', '--window-ms', '3000'];
    const given = buildOptions(argv, { ACTORGATE_ADMIN_KEY: 'k' });
    assert.deepEqual(given.drain, { admin: 'https://10.0.0.4:9001', windowMs: 3000, key: 'k' });
    assert.throws(() => buildOptions(['drain', '--admin', 'localhost:7001'], {}), UsageError);
    assert.throws(() => buildOptions(['drain', '--window-ms', '1e3'], {}), UsageError);
  });
});
