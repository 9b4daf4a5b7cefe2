import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { instanceKey, instanceKeyPattern, instancesChannel, parseAnnouncement, parseInstanceEntry, type InstanceEntry } from '../../../src/control/registry-entry.ts';
import { advertisedClientUrls, advertisedPushAddress } from '../../../src/control/registry-address.ts';
import { resolveConfig } from '../../../src/core/options.ts';
import { ConfigError } from '../../../src/core/errors.ts';

const entry: InstanceEntry = {
  v: 1,
  id: 'ab12',
  name: 'gate-1',
  nodeId: 412,
  clientUrls: ['ws://gate-1:7000/'],
  pushAddress: 'gate-1:7002',
  pushTls: false,
  workers: 2,
  sessions: 10,
  state: 'running',
  startedAt: 1_700_000_000_000,
  updatedAt: 1_700_000_001_000,
};

describe('registry formats', () => {
  it('names keys and the channel under the prefix, and escapes glob characters in the SCAN pattern', () => {
    assert.equal(instanceKey('actorgate:', 412), 'actorgate:instance:412');
    assert.equal(instancesChannel('actorgate:'), 'actorgate:instances');
    assert.equal(instanceKeyPattern('a*b?:'), 'a\\*b\\?:instance:*');
  });

  it('parses an entry and refuses one of another version or with a bad field', () => {
    assert.deepEqual(parseInstanceEntry(JSON.stringify(entry)), entry);
    for (const bad of [{ v: 2 }, { nodeId: 8192 }, { state: 'gone' }, { pushAddress: 7002 }, { clientUrls: 'ws://x/' }, { sessions: -1 }]) {
      assert.equal(parseInstanceEntry(JSON.stringify({ ...entry, ...bad })), undefined, JSON.stringify(bad));
    }
    assert.equal(parseInstanceEntry('not json'), undefined);
    assert.equal(parseInstanceEntry('null'), undefined);
  });

  it('parses announcements of the three events only', () => {
    assert.deepEqual(parseAnnouncement(JSON.stringify({ event: 'leave', instance: entry })), { event: 'leave', instance: entry });
    assert.equal(parseAnnouncement(JSON.stringify({ event: 'refresh', instance: entry })), undefined);
    assert.equal(parseAnnouncement(JSON.stringify({ event: 'join', instance: { ...entry, v: 0 } })), undefined);
  });
});

describe('advertised addresses', () => {
  it('replaces a wildcard listen or push host by registry.advertiseHost (default: the host name)', () => {
    const config = resolveConfig({ listen: { host: '0.0.0.0' }, push: { host: '::' } });
    assert.deepEqual(advertisedClientUrls(config, 7000), [`ws://${hostname()}:7000/`]);
    assert.equal(advertisedPushAddress(config, 7002), `${hostname()}:7002`);
    const named = resolveConfig({ listen: { host: '0.0.0.0' }, registry: { advertiseHost: 'gw.internal' } });
    assert.deepEqual(advertisedClientUrls(named, 7000), ['ws://gw.internal:7000/']);
    assert.equal(advertisedPushAddress(named, 7002), '127.0.0.1:7002', 'a bound host is advertised as it is');
  });

  it('brackets an IPv6 host, and takes explicit URLs and push address as given; no push port, no push address', () => {
    const v6 = resolveConfig({ listen: { host: '::1' }, push: { host: 'fd00::5' } });
    assert.deepEqual(advertisedClientUrls(v6, 7000), ['ws://[::1]:7000/']);
    assert.equal(advertisedPushAddress(v6, 7002), '[fd00::5]:7002');
    const explicit = resolveConfig({ registry: { clientUrls: ['wss://lb.example/', 'wss://lb2.example/'], pushAddress: 'push.example:443' } });
    assert.deepEqual(advertisedClientUrls(explicit, 7000), ['wss://lb.example/', 'wss://lb2.example/']);
    assert.equal(advertisedPushAddress(explicit, 7002), 'push.example:443');
    assert.equal(advertisedPushAddress(explicit, null), null);
  });

  it('refuses a client URL that is not ws(s):// and a push address that is not host:port, naming the field', () => {
    assert.throws(() => resolveConfig({ registry: { clientUrls: ['ws://ok/', 'http://x/'] } }), (err) => err instanceof ConfigError && err.field === 'registry.clientUrls[1]');
    assert.throws(() => resolveConfig({ registry: { pushAddress: 'no-port' } }), (err) => err instanceof ConfigError && err.field === 'registry.pushAddress');
    assert.throws(() => resolveConfig({ registry: { ttlMs: 100 } }), (err) => err instanceof ConfigError && err.field === 'registry.ttlMs');
    assert.throws(() => resolveConfig({ registry: { color: 'red' } }), (err) => err instanceof ConfigError && err.field === 'registry.color');
  });
});
