import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../../../src/core/options.ts';
import { AUTH_ROWS, resolveAuth } from '../../../src/core/options-auth.ts';
import { staticDefault } from '../../../src/core/settings-table.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import { makeKey } from '../../fixtures/auth-keys.ts';

const key = makeKey('ES256');
const keys = [{ jwk: key.jwk, algorithms: ['ES256'] }];

function rejects(auth: unknown, field: string, message?: RegExp): void {
  assert.throws(
    () => resolveConfig({ auth }),
    (err: unknown) => err instanceof ConfigError && err.field === field && (message === undefined || message.test(err.message)),
    `${field}${message ? ` ${message}` : ''}`,
  );
}

/** `auth` with the row at `path` set to `value` (a service section for its rows, else a jwt one). */
function withRow(path: string, value: unknown): Record<string, unknown> {
  const [, section, key] = /^auth\.(?:(jwt|service)\.)?(.*)$/.exec(path)!;
  if (section === 'service') return { service: { endpoint: '127.0.0.1:7300', [key!]: value } };
  const jwt: Record<string, unknown> = { keys };
  const auth: Record<string, unknown> = { jwt };
  (section === 'jwt' ? jwt : auth)[key!] = value;
  return auth;
}

describe('the auth section', () => {
  it('absent or null turns authentication off; present, it resolves to the rows\' defaults, frozen and cloneable', () => {
    assert.equal(resolveConfig({}).auth, null);
    assert.equal(resolveConfig({ auth: null }).auth, null);
    const auth = resolveConfig({ auth: { jwt: { keys } } }).auth!;
    assert.equal(auth.required, true);
    assert.equal(auth.maxPendingPerWorker, 256);
    assert.ok(auth.poolThreads >= 1);
    assert.deepEqual({ ...auth.jwt!, keys: undefined }, {
      keys: undefined, issuer: [], audience: [], leewaySec: 30, topicsClaim: null, attributeClaims: [],
      jwksRefreshMs: 600_000, jwksMinRefreshMs: 30_000, jwksGraceMs: 3_600_000, jwksTimeoutMs: 5000,
    });
    assert.ok(Object.isFrozen(auth) && Object.isFrozen(auth.jwt) && Object.isFrozen(auth.jwt!.keys[0]));
    assert.deepEqual(structuredClone(auth), auth, 'it travels to threads as plain data');
  });

  it('one issuer or audience may be a string; lists stay lists', () => {
    const jwt = resolveAuth({ jwt: { keys, issuer: 'https://idp', audience: ['a', 'b'] } })!.jwt!;
    assert.deepEqual([jwt.issuer, jwt.audience], [['https://idp'], ['a', 'b']]);
  });

  it('structural mistakes name their field', () => {
    rejects({}, 'auth.jwt', /exactly one of jwt .* and service/);
    rejects({ jwt: { keys }, service: { endpoint: 'idp:7300' } }, 'auth.service', /exactly one/);
    rejects({ service: {} }, 'auth.service.endpoint', /required/);
    rejects({ service: { endpoint: 'no-port' } }, 'auth.service.endpoint', /host:port/);
    rejects({ service: { endpoint: 'idp:7300', headers: ['Cookie', 'bad header'] } }, 'auth.service.headers', /"bad header" is not a header name/);
    rejects('on', 'auth', /object/);
    rejects({ jwt: { keys }, jtw: {} }, 'auth.jtw', /unknown field/);
    rejects({ jwt: { keys, leeway: 5 } }, 'auth.jwt.leeway', /unknown field/);
    rejects({ jwt: { keys: [] } }, 'auth.jwt.keys', /non-empty/);
    rejects({ jwt: {} }, 'auth.jwt.keys');
    rejects({ jwt: { keys, attributeClaims: ['path'] } }, 'auth.jwt.attributeClaims', /sets itself/);
    rejects({ jwt: { keys, attributeClaims: ['a', 'a'] } }, 'auth.jwt.attributeClaims', /twice/);
  });

  it('every scalar row is checked against its range and type, naming its field, even before the keys', () => {
    for (const row of AUTH_ROWS) {
      if (row.kind === 'int') {
        rejects(withRow(row.path, row.min - 1), row.path, new RegExp(`between ${row.min} and ${row.max}`));
        rejects(withRow(row.path, row.max + 1), row.path);
        // A flag alone (--auth-jwt-leeway-sec 99999) names itself, not the missing keys.
        const key = row.path.slice(row.path.lastIndexOf('.') + 1);
        const section = /^auth\.(jwt|service)\./.exec(row.path)?.[1];
        rejects(section === undefined ? { [key]: row.max + 1 } : { [section]: { [key]: row.max + 1 } }, row.path);
      }
      rejects(withRow(row.path, row.kind === 'string' || row.kind === 'globs' ? 17 : 'seventeen'), row.path);
    }
  });

  it('every default is the one the TSDoc of AuthOptions, JwtOptions and AuthServiceOptions states', () => {
    const read = (file: string) => readFileSync(fileURLToPath(new URL(`../../../src/core/${file}`, import.meta.url)), 'utf8');
    const sources = { auth: read('options-auth.ts'), service: read('options-auth-service.ts') };
    for (const row of AUTH_ROWS) {
      const key = row.path.slice(row.path.lastIndexOf('.') + 1);
      const source = row.path.startsWith('auth.service.') ? sources.service : sources.auth;
      const doc = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*${key}\\??:`).exec(source)?.[1];
      assert.ok(doc !== undefined, `${row.path} has TSDoc`);
      const stated = /@default\s+(.*?)\s*$/m.exec(doc)?.[1];
      // A default worked out at start, or one the TSDoc words (none, not checked), is described, not a literal.
      if (stated === undefined || typeof row.default === 'function') {
        assert.ok(row.defaultText !== undefined, `${row.path}: a default without @default needs its defaultText`);
        continue;
      }
      if (row.defaultText !== undefined && row.defaultText !== 'none') continue;
      assert.equal(stated, JSON.stringify(staticDefault(row)), `${row.path}: TSDoc @default`);
    }
  });
});
