import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addressFromBytes, limitKey, normalizeAddress, TrustedProxies, validateTrustedProxies } from '../../../src/core/ip-address.ts';
import { ConfigError } from '../../../src/core/errors.ts';

describe('normalizeAddress', () => {
  it('IPv4-mapped IPv6 becomes IPv4; IPv6 is lower-cased, unbracketed and without zone; junk is undefined', () => {
    assert.equal(normalizeAddress('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(normalizeAddress(' 192.0.2.1 '), '192.0.2.1');
    assert.equal(normalizeAddress('[2001:DB8::1]'), '2001:db8::1');
    assert.equal(normalizeAddress('fe80::1%eth0'), 'fe80::1');
    assert.equal(normalizeAddress('0000:0000:0000:0000:0000:ffff:7f00:0001'), '127.0.0.1', "uWS's spelling of an IPv4 client of a dual-stack socket");
    assert.equal(normalizeAddress('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1', 'one spelling for one address');
    for (const junk of ['', 'unknown', '10.0.0.256', '1.2.3', 'proxy.local', '10.0.0.1:443']) assert.equal(normalizeAddress(junk), undefined, junk);
  });
});

describe('addressFromBytes', () => {
  it('reads uWS\'s raw 4- and 16-byte forms: IPv4, IPv4-mapped IPv6 as IPv4, IPv6 canonical', () => {
    assert.equal(addressFromBytes(new Uint8Array([192, 0, 2, 1]).buffer), '192.0.2.1');
    assert.equal(addressFromBytes(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 5]).buffer), '10.0.0.5');
    assert.equal(addressFromBytes(new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).buffer), '2001:db8::1');
    assert.notEqual(limitKey(addressFromBytes(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 5]).buffer)), limitKey('10.0.0.6'));
  });
});

describe('limitKey', () => {
  it('is the IPv4 address itself, and the /64 of an IPv6 address in one spelling', () => {
    assert.equal(limitKey('203.0.113.9'), '203.0.113.9');
    const key = limitKey('2001:db8:0:1:aaaa::1');
    assert.equal(key, '2001:db8:0:1::/64');
    for (const same of ['2001:db8::1:bbbb:cccc:dddd:eeee', '2001:0db8:0000:0001::ffff']) assert.equal(limitKey(same), key, same);
    assert.notEqual(limitKey('2001:db8:0:2::1'), key);
    assert.equal(limitKey('::1'), '0:0:0:0::/64');
  });
});

describe('trusted proxies', () => {
  it('takes addresses and CIDRs of both families, the bad entry named by its index', () => {
    assert.doesNotThrow(() => validateTrustedProxies(['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8', '0.0.0.0/0'], 'listen.trustProxy'));
    for (const [list, index] of [[['10.0.0.0/8', 'lb'], 1], [['10.0.0.0/x'], 0], [['::1/129'], 0], [['10.0.0.0/33'], 0]] as const) {
      assert.throws(() => validateTrustedProxies(list, 'listen.trustProxy'), (err) => err instanceof ConfigError && err.field === `listen.trustProxy[${index}]`);
    }
  });

  it('matches an address inside a range, IPv4-mapped peers included', () => {
    const trusted = new TrustedProxies(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
    assert.equal(trusted.has('10.200.3.4'), true);
    assert.equal(trusted.has('11.0.0.1'), false);
    assert.equal(trusted.has('2001:db8:ffff::1'), true);
    assert.equal(trusted.has('2001:db9::1'), false);
    assert.equal(trusted.has(normalizeAddress('::ffff:192.0.2.7')!), true);
    assert.equal(new TrustedProxies([]).has('10.0.0.1'), false);
  });
});
