import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisHealth } from '../../../src/control/redis-health.ts';
import { RedisHealthStates, RedisSlot, WORKER_SLOTS } from '../../../src/core/counters.ts';

function rig(publish: (seq: number) => Promise<number> = async () => 1) {
  const counters = new Float64Array(WORKER_SLOTS);
  const sent: number[] = [];
  let replaced = 0;
  let connected = true;
  const health = new RedisHealth(counters, {
    connected: () => connected,
    publish: (seq) => {
      sent.push(seq);
      return publish(seq);
    },
    replace: () => replaced++,
    changed: () => {},
  });
  const state = () => RedisHealthStates[counters[RedisSlot.HEALTH]!];
  return { health, counters, sent, state, replaced: () => replaced, setConnected: (value: boolean) => (connected = value) };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('RedisHealth: the self-addressed probe', () => {
  it('starts disconnected; a probe that comes back makes it ok, with its round trip', () => {
    const r = rig();
    assert.equal(r.state(), 'disconnected');
    r.health.tick();
    r.health.received(r.sent[0]!);
    assert.equal(r.state(), 'ok');
    assert.ok(r.counters[RedisSlot.PROBE_RTT]! >= 0);
  });

  it('a probe missing at the next tick is counted, degrades and replaces; the next probe back restores ok', () => {
    const r = rig();
    r.health.tick();
    r.health.received(r.sent[0]!);
    r.health.tick();
    r.health.tick();
    assert.equal(r.counters[RedisSlot.PROBES_MISSED], 1);
    assert.equal(r.replaced(), 1);
    assert.equal(r.state(), 'degraded');
    // The replacement drops the connection: still degraded until a probe is back.
    r.health.disconnected();
    assert.equal(r.state(), 'degraded');
    r.health.tick();
    r.health.received(r.sent.at(-1)!);
    assert.equal(r.state(), 'ok');
  });

  it('an old probe arriving late does not count as the current one', () => {
    const r = rig();
    r.health.tick();
    r.health.tick(); // missed
    r.health.tick();
    r.health.received(r.sent[0]!);
    assert.equal(r.state(), 'degraded');
  });

  it('a refused publish is a visible outage: disconnected, nothing counted or replaced; a timeout counts as missing', async () => {
    const refused = rig(async () => {
      throw new Error('CLUSTERDOWN The cluster is down');
    });
    refused.health.tick();
    await settle();
    refused.health.tick();
    assert.equal(refused.state(), 'disconnected');
    assert.equal(refused.counters[RedisSlot.PROBES_MISSED], 0);
    assert.equal(refused.replaced(), 0);

    const silent = rig(async () => {
      throw new Error('Command timed out');
    });
    silent.health.tick();
    await settle();
    silent.health.tick();
    assert.equal(silent.counters[RedisSlot.PROBES_MISSED], 1);
    assert.equal(silent.replaced(), 1);
  });

  it('while the subscriber is not connected nothing is probed', () => {
    const r = rig();
    r.setConnected(false);
    r.health.tick();
    assert.deepEqual(r.sent, []);
    assert.equal(r.state(), 'disconnected');
  });
});
