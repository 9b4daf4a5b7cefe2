/** The `tls` fields: files checked at resolveConfig, each failure a ConfigError naming its field. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../../src/core/errors.ts';
import { resolveConfig } from '../../../src/core/options.ts';
import { CertDir } from '../../fixtures/tls-certs.ts';

describe('resolveConfig: tls', () => {
  const certs = new CertDir();
  after(() => certs.remove());
  const ca = certs.ca('unit-ca');
  const server = certs.server(ca, 'checked');
  const notPem = join(certs.dir, 'not.pem');
  writeFileSync(notPem, 'hello');

  /** The field a ConfigError names, or 'accepted'. */
  const field = (tls: unknown, section = 'listen') => {
    try {
      resolveConfig({ [section]: { tls } });
    } catch (err) {
      if (err instanceof ConfigError) return err.field;
      throw err;
    }
    return 'accepted';
  };

  it('takes cert and key (ca, passphrase optional) on listen, admin and push; null or absent is no TLS', () => {
    for (const section of ['listen', 'admin', 'push']) {
      assert.equal(field({ cert: server.certFile, key: server.keyFile }, section), 'accepted');
      assert.equal(field({ cert: server.certFile, key: server.keyFile, ca: ca.certFile }, section), 'accepted');
      assert.equal(field(null, section), 'accepted');
    }
    const config = resolveConfig({ listen: { tls: { cert: server.certFile, key: server.keyFile } } });
    assert.deepEqual(config.listen.tls, { cert: server.certFile, key: server.keyFile, ca: null, passphrase: null });
    assert.equal(config.admin.tls, null);
    assert.ok(Object.isFrozen(config.listen.tls));
  });

  it('names the field whose file is missing, not PEM, or does not fit', () => {
    const wrongKey = certs.server(ca, 'other');
    assert.equal(field({ cert: server.certFile }), 'listen.tls.key');
    assert.equal(field({ key: server.keyFile }, 'push'), 'push.tls.cert');
    assert.equal(field({ cert: join(certs.dir, 'missing.pem'), key: server.keyFile }, 'admin'), 'admin.tls.cert');
    assert.equal(field({ cert: notPem, key: server.keyFile }), 'listen.tls.cert');
    assert.equal(field({ cert: server.certFile, key: notPem }), 'listen.tls.key');
    assert.equal(field({ cert: server.certFile, key: wrongKey.keyFile }), 'listen.tls.key');
    assert.equal(field({ cert: server.certFile, key: server.keyFile, ca: notPem }), 'listen.tls.ca');
    assert.equal(field({ cert: server.certFile, key: server.keyFile, extra: 1 }), 'listen.tls.extra');
    assert.equal(field({ cert: 7, key: server.keyFile }), 'listen.tls.cert');
    assert.equal(field('cert.pem'), 'listen.tls');
  });

  it('decrypts an encrypted key with its passphrase; a wrong or missing one names the passphrase', () => {
    const locked = certs.server(ca, 'locked', 'sesame');
    assert.equal(field({ cert: locked.certFile, key: locked.keyFile, passphrase: 'sesame' }), 'accepted');
    assert.equal(field({ cert: locked.certFile, key: locked.keyFile, passphrase: 'wrong' }), 'listen.tls.passphrase');
    assert.equal(field({ cert: locked.certFile, key: locked.keyFile }), 'listen.tls.passphrase');
  });
});
