import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TrustedProxies } from '../../../src/core/ip-address.ts';
import { clientAddress } from '../../../src/worker/client-address.ts';

const trusted = new TrustedProxies(['10.0.0.0/8', '127.0.0.1']);

describe('clientAddress', () => {
  it('an untrusted peer is the client, whatever its X-Forwarded-For or PROXY header says', () => {
    assert.equal(clientAddress(trusted, '198.51.100.4', '203.0.113.1', '192.0.2.9'), '198.51.100.4');
    assert.equal(clientAddress(new TrustedProxies([]), '127.0.0.1', '', '192.0.2.9'), '127.0.0.1');
  });

  it('from a trusted peer: the nearest X-Forwarded-For entry that is not a trusted proxy', () => {
    assert.equal(clientAddress(trusted, '10.0.0.5', '', '192.0.2.9'), '192.0.2.9');
    // A client may prepend anything; only what the trusted hops appended counts.
    assert.equal(clientAddress(trusted, '10.0.0.5', '', '1.1.1.1, 192.0.2.9, 10.0.0.4'), '192.0.2.9');
    assert.equal(clientAddress(trusted, '10.0.0.5', '', 'garbage, 192.0.2.9'), '192.0.2.9');
    assert.equal(clientAddress(trusted, '10.0.0.5', '', '192.0.2.9, not-an-ip'), '10.0.0.5', 'a malformed hop ends the walk at the last trusted one');
    assert.equal(clientAddress(trusted, '10.0.0.5', '', '10.0.0.9, 10.0.0.8'), '10.0.0.9', 'all trusted: the farthest');
    assert.equal(clientAddress(trusted, '10.0.0.5', '', ''), '10.0.0.5');
    assert.equal(clientAddress(trusted, '::ffff:127.0.0.1', '', '[2001:db8::7]'), '2001:db8::7');
  });

  it('from a trusted peer: the PROXY v2 source first, then X-Forwarded-For only if that source is a trusted proxy too', () => {
    assert.equal(clientAddress(trusted, '10.0.0.5', '203.0.113.7', '192.0.2.9'), '203.0.113.7');
    assert.equal(clientAddress(trusted, '10.0.0.5', '10.1.1.1', '192.0.2.9'), '192.0.2.9');
  });
});
