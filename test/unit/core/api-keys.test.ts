import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ApiKeyChecker, ApiKeys, apiKeyHashes, generateApiKey, hashApiKey, presentedKey, unkeyedExposedServers } from '../../../src/core/api-keys.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import { resolveConfig } from '../../../src/core/options.ts';

const KEY_A = 'k'.repeat(43);
const KEY_B = generateApiKey();

describe('API key hashes', () => {
  it('a hash is sha256: and the hex SHA-256 of the key (UTF-8)', () => {
    assert.equal(hashApiKey('abc'), `sha256:${createHash('sha256').update('abc').digest('hex')}`);
    assert.equal(hashApiKey('abc'), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('a generated key is 32 random bytes in base64url, a new one each time', () => {
    assert.match(KEY_B, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(KEY_B, 'base64url').length, 32);
    assert.notEqual(generateApiKey(), generateApiKey());
  });

  it('the config takes hashes in either case and keeps them in lower case', () => {
    const hash = hashApiKey(KEY_A);
    assert.deepEqual(apiKeyHashes([hash.toUpperCase().replace('SHA256:', 'sha256:')], 'push.apiKeys'), [hash]);
    assert.deepEqual(resolveConfig({ push: { apiKeys: [hash] }, admin: { apiKeys: [] } }).push.apiKeys, [hash]);
    assert.deepEqual(resolveConfig({}).admin.apiKeys, []);
  });

  it('a malformed list or entry is a ConfigError naming the field and the entry', () => {
    const rejects = (value: unknown, field: string, message: RegExp) =>
      assert.throws(
        () => resolveConfig({ admin: { apiKeys: value } }),
        (err: unknown) => err instanceof ConfigError && err.field === field && message.test(err.message),
      );
    rejects('sha256:00', 'admin.apiKeys', /array of key hashes/);
    rejects([hashApiKey('x'), 'sha256:1234'], 'admin.apiKeys[1]', /64 hex digits/);
    rejects([`sha256:${'g'.repeat(64)}`], 'admin.apiKeys[0]', /64 hex digits/);
    rejects([`sha1:${'0'.repeat(40)}`], 'admin.apiKeys[0]', /not the key itself/);
    rejects([KEY_A], 'admin.apiKeys[0]', /the hash of the key, not the key itself/);
    rejects([42], 'admin.apiKeys[0]', /sha256:/);
    rejects([hashApiKey(KEY_A), hashApiKey(KEY_B), hashApiKey(KEY_A)], 'admin.apiKeys[2]', /same key hash as admin\.apiKeys\[0\]/);
  });
});

describe('ApiKeyChecker', () => {
  const checker = new ApiKeyChecker([hashApiKey(KEY_A), hashApiKey(KEY_B)]);

  it('accepts each configured key, so two keys can overlap during a rotation', () => {
    assert.equal(checker.check(KEY_A), 'ok');
    assert.equal(checker.check(KEY_B), 'ok');
  });

  it('refuses no key as missing, and any other key as invalid, whatever its length', () => {
    assert.equal(checker.check(undefined), 'missing');
    for (const wrong of ['', 'k', KEY_A.slice(0, -1), `${KEY_A}k`, KEY_A.toUpperCase(), 'x'.repeat(100_000), '\u00e9'.repeat(20)]) {
      assert.equal(checker.check(wrong), 'invalid', JSON.stringify(wrong.slice(0, 50)));
    }
  });

  it('compares digests, not keys: a configured hash itself is not a key', () => {
    assert.equal(checker.check(hashApiKey(KEY_A)), 'invalid');
    assert.equal(checker.check(hashApiKey(KEY_A).slice('sha256:'.length)), 'invalid');
  });

  it('with no hashes nothing is required and every request passes', () => {
    const open = new ApiKeyChecker([]);
    assert.equal(open.required, false);
    assert.equal(open.check(undefined), 'ok');
    assert.equal(open.check('anything'), 'ok');
    assert.equal(checker.required, true);
  });
});

describe('presentedKey', () => {
  it('takes X-Api-Key first, else a Bearer credential (scheme in any case)', () => {
    assert.equal(presentedKey(KEY_A, `Bearer ${KEY_B}`), KEY_A);
    assert.equal(presentedKey(undefined, `Bearer ${KEY_B}`), KEY_B);
    assert.equal(presentedKey(undefined, `bearer  ${KEY_B} `), KEY_B);
    assert.equal(presentedKey(` ${KEY_A} `, undefined), KEY_A);
    assert.equal(presentedKey(undefined, undefined), undefined);
  });

  it('an Authorization of another form, or a repeated X-Api-Key, is a key that cannot match', () => {
    assert.equal(presentedKey(undefined, `Basic ${Buffer.from(`u:${KEY_A}`).toString('base64')}`), '');
    assert.equal(presentedKey(undefined, 'Bearer'), '');
    assert.equal(presentedKey(undefined, 'Bearer a b'), '');
    assert.equal(presentedKey([KEY_A, KEY_B], undefined), '');
  });
});

describe('ApiKeys', () => {
  const config = (push: string[], admin: string[]) => ({ push: { apiKeys: push.map(hashApiKey) }, admin: { apiKeys: admin.map(hashApiKey) } });

  it('keeps the push and admin key sets apart, and counts refusals by API and reason', () => {
    const keys = new ApiKeys(config([KEY_A], [KEY_B]));
    assert.equal(keys.check('push', KEY_A), 'ok');
    assert.equal(keys.check('http-push', KEY_A), 'ok');
    assert.equal(keys.check('admin', KEY_B), 'ok');
    assert.equal(keys.check('push', KEY_B), 'invalid');
    assert.equal(keys.check('http-push', KEY_B), 'invalid');
    assert.equal(keys.check('admin', KEY_A), 'invalid');
    assert.equal(keys.check('http-push', undefined), 'missing');
    assert.deepEqual(keys.refused, { push: { missing: 1, invalid: 2 }, admin: { missing: 0, invalid: 1 } });
  });

  it('POST /v1/push takes the admin keys when only those are set, and is counted as the push API', () => {
    const keys = new ApiKeys(config([], [KEY_B]));
    assert.equal(keys.required('push'), false);
    assert.equal(keys.required('http-push'), true);
    assert.equal(keys.keysOf('http-push'), 'admin');
    assert.equal(keys.check('http-push', KEY_B), 'ok');
    assert.equal(keys.check('http-push', KEY_A), 'invalid');
    assert.equal(keys.check('push', undefined), 'ok');
    assert.deepEqual(keys.refused.push, { missing: 0, invalid: 1 });
    assert.equal(new ApiKeys(config([KEY_A], [])).keysOf('http-push'), 'push');
  });

  it('names the servers that listen beyond loopback without keys or client certificates', () => {
    const at = (host: string, apiKeys: string[] = [], port: number | null = 1) => ({ host, port, apiKeys });
    assert.deepEqual(unkeyedExposedServers({ push: at('127.0.0.1'), admin: at('::1') }), []);
    assert.deepEqual(unkeyedExposedServers({ push: at('0.0.0.0'), admin: at('10.1.2.3') }), ['push', 'admin']);
    assert.deepEqual(unkeyedExposedServers({ push: at('0.0.0.0', [hashApiKey(KEY_A)]), admin: at('::', [], null) }), []);
    assert.deepEqual(unkeyedExposedServers({ push: at('localhost'), admin: at('127.0.0.2') }), []);
    // Mutual TLS refuses a client without a certificate: that port is not open to anyone either.
    assert.deepEqual(unkeyedExposedServers({ push: { ...at('0.0.0.0'), tls: { ca: '/etc/ca.pem' } }, admin: { ...at('0.0.0.0'), tls: { ca: null } } }), ['admin']);
  });
});
