import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  defaultBackend,
  defaultLimits,
  endpointsOf,
  resolveConfig,
  validateEndpoint,
  validateRoutes,
} from '../../../src/core/options.ts';
import { SETTING_ROWS, splitPath, staticDefault, type SettingRow } from '../../../src/core/settings-table.ts';
import { ConfigError, configErrorOf, errorFromWire, errorToWire, isActorgateError, WorkerFailedError } from '../../../src/core/errors.ts';
import { MAX_NODE_ID, MAX_WORKERS } from '../../../src/core/session-id.ts';

const rule = (extra: Record<string, unknown> = {}) => ({ serverType: 1, endpoints: ['127.0.0.1:7100'], ...extra });

/** Asserts resolveConfig(input) throws a ConfigError naming `field`, and that the message names it too. */
function rejects(input: unknown, field: string, message?: RegExp): void {
  assert.throws(
    () => resolveConfig(input),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.ok(isActorgateError(err));
      assert.equal(err.code, 'ERR_ACTORGATE_CONFIG');
      assert.equal(err.field, field);
      assert.ok(err.message.includes(field), `message ${JSON.stringify(err.message)} does not name ${field}`);
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

/** Options with every setting of the table at `pick(row)`; `overrides` win (a dotted path each). */
function allSettings(pick: (row: SettingRow) => unknown, overrides: Record<string, unknown> = {}): Record<string, Record<string, unknown>> {
  const options: Record<string, Record<string, unknown>> = {};
  for (const row of SETTING_ROWS) {
    const value = row.path in overrides ? overrides[row.path] : pick(row);
    if (value === undefined) continue;
    const [section, key] = splitPath(row.path);
    if (section === undefined) (options as Record<string, unknown>)[key] = value;
    else (options[section] ??= {})[key] = value;
  }
  return options;
}

/**
 * Every `@default` of the TSDoc in options-types.ts and options-observability.ts, parsed where it is a literal: by member name, and by dotted
 * path for a member of a section's own interface (`AccessLogOptions.destination` is `accessLog.destination`).
 */
function documentedDefaults(): Map<string, unknown> {
  const read = (file: string) => readFileSync(fileURLToPath(new URL(`../../../src/core/${file}`, import.meta.url)), 'utf8');
  const source = `${read('options-types.ts')}\n${read('options-observability.ts')}`;
  const found = new Map<string, unknown>();
  for (const match of source.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+)\??:/g)) {
    const text = /@default\s+([^\n]*?)\s*(?:\*\/|$)/m.exec(match[1]!.replace(/\n\s*\* ?/g, '\n'))?.[1];
    if (text === undefined) continue;
    found.set(match[2]!, literal(text));
    const owner = [...source.slice(0, match.index).matchAll(/export interface (\w+)Options \{/g)].at(-1)?.[1];
    if (owner !== undefined) found.set(`${owner[0]!.toLowerCase()}${owner.slice(1)}.${match[2]!}`, literal(text));
  }
  return found;
}

/** `5000 (5 s)` → 5000, `'warn'` → "warn", `{ host: 'h', port: 1 }` → an object; a description (`os.hostname()`) → undefined. */
function literal(text: string): unknown {
  const scalar = (part: string): unknown => {
    if (/^-?[\d_]+(\.\d+)?\b/.test(part)) return Number(/^-?[\d_.]+/.exec(part)![0].replace(/_/g, ''));
    if (/^'[^']*'/.test(part)) return /^'([^']*)'/.exec(part)![1];
    if (/^(true|false|null)\b/.test(part)) return JSON.parse(/^\w+/.exec(part)![0]);
    if (part.startsWith('[]')) return [];
    return undefined;
  };
  const object = /^\{([^}]*)\}/.exec(text);
  if (!object) return scalar(text);
  return Object.fromEntries(object[1]!.split(',').map((pair) => pair.split(':').map((s) => s.trim())).map(([key, value]) => [key, scalar(value!)]));
}

function isDeepFrozen(value: unknown, path = 'config'): void {
  if (typeof value !== 'object' || value === null) return;
  assert.ok(Object.isFrozen(value), `${path} is not frozen`);
  for (const [key, child] of Object.entries(value)) isDeepFrozen(child, `${path}.${key}`);
}

describe('resolveConfig defaults', () => {
  it('an empty or absent input resolves to the documented defaults; an embedded gateway logs at warn', () => {
    for (const input of [undefined, {}]) {
      const config = resolveConfig(input);
      assert.equal(config.name, hostname());
      assert.ok(Number.isInteger(config.nodeId) && config.nodeId >= 0 && config.nodeId <= MAX_NODE_ID);
      assert.ok(config.workers >= 1 && config.workers <= MAX_WORKERS);
      assert.deepEqual(config.listen, { host: '0.0.0.0', port: 7000, trustProxy: [], tls: null });
      assert.deepEqual(config.admin, { host: '127.0.0.1', port: 7001, tls: null, apiKeys: [] });
      assert.deepEqual(config.push, { host: '127.0.0.1', port: 7002, tls: null, apiKeys: [] });
      assert.equal(config.redis, null);
      assert.deepEqual(config.routes, []);
      assert.deepEqual(config.topics, { allow: [] });
      assert.deepEqual(config.limits, defaultLimits);
      assert.deepEqual(config.backend, defaultBackend);
      assert.deepEqual(config.log, { level: 'warn', destination: 'stdout', maxBufferBytes: 16 * 1024 * 1024 });
      assert.deepEqual(config.accessLog, { destination: null, maxBufferLines: 10_000, flushIntervalMs: 200 });
      assert.deepEqual(config.shutdown, { drainTimeoutMs: 10_000, drainWindowMs: 5000, preDrainDelayMs: 0, flushTimeoutMs: 2000 });
      assert.deepEqual(config.restart, { initialMs: 100, maxMs: 5000 });
      assert.equal(config.faultInjection, false);
    }
  });

  it('a configured HTTP/2 window is taken, up to the HTTP/2 maximum of 2^31 − 1', () => {
    assert.equal(resolveConfig({ backend: { flowControlWindowBytes: 4 * 1024 * 1024 } }).backend.flowControlWindowBytes, 4 * 1024 * 1024);
    assert.equal(resolveConfig({ backend: { flowControlWindowBytes: 2 ** 31 - 1 } }).backend.flowControlWindowBytes, 2 ** 31 - 1);
    assert.throws(() => resolveConfig({ backend: { flowControlWindowBytes: 2 ** 31 } }), /backend\.flowControlWindowBytes/);
  });

  it('every default is the one the TSDoc of GatewayOptions states', () => {
    const documented = documentedDefaults();
    for (const row of SETTING_ROWS) {
      const [section, key] = splitPath(row.path);
      const ofSection = section === undefined ? undefined : documented.get(section);
      const stated = documented.has(row.path)
        ? documented.get(row.path)
        : documented.has(key) ? documented.get(key) : (ofSection as Record<string, unknown> | undefined)?.[key];
      const value = staticDefault(row);
      // A default worked out at start (host name, CPU count) or absent (redis.url) is described, not a literal.
      if (value === undefined || value === null) assert.equal(stated, undefined, `${row.path}: TSDoc states ${String(stated)}`);
      else assert.deepEqual(stated, value, `${row.path}: TSDoc @default`);
    }
    assert.equal(defaultLimits.maxPayloadBytes, 65535, 'the u16 length field bounds it');
  });

  it('a section left out resolves to its own defaults while a sibling field is set', () => {
    const config = resolveConfig({ limits: { maxPayloadBytes: 1024 } });
    assert.equal(config.limits.maxPayloadBytes, 1024);
    assert.deepEqual({ ...config.limits, maxPayloadBytes: defaultLimits.maxPayloadBytes }, defaultLimits);
    assert.deepEqual(config.backend, defaultBackend);
  });

  it('the whole table at its minimums, and at its maximums, resolves', () => {
    const low = (row: SettingRow) => (row.kind === 'int' || row.kind === 'number' ? row.min : undefined);
    const high = (row: SettingRow) => (row.kind === 'int' ? row.max : undefined);
    // redis.healthCheckMs brings in the redis section, which needs a server.
    const lowest = resolveConfig(allSettings(low, { 'redis.url': 'redis://h:1' }));
    assert.equal(lowest.listen.port, 0);
    assert.equal(lowest.limits.idleTimeoutMs, 0);
    // The ping must stay below a non-zero idle timeout, so it cannot also be at its maximum; the per-user connection
    // limit needs redis and auth, which this table leaves out.
    const highest = resolveConfig(allSettings(high, { 'limits.pingIntervalMs': 0, 'limits.maxConnectionsPerUser': 0, 'redis.url': 'redis://h:1' }));
    assert.equal(highest.workers, MAX_WORKERS);
    assert.equal(highest.backend.flowControlWindowBytes, 2 ** 31 - 1);
  });

  it('fills rule defaults and keeps given rule values', () => {
    const config = resolveConfig({ routes: [rule(), rule({ serverType: 2, worldId: 3, instId: 4, strategy: 'consistent-hash', hashBy: 'user', notify: true })] });
    assert.deepEqual(config.routes[0], { serverType: 1, worldId: 0, instId: 0, endpoints: ['127.0.0.1:7100'], strategy: 'round-robin', hashBy: 'session', notify: false, authorizeTopics: [], rateLimit: null, realm: false });
    assert.deepEqual(config.routes[1], { serverType: 2, worldId: 3, instId: 4, endpoints: ['127.0.0.1:7100'], strategy: 'consistent-hash', hashBy: 'user', notify: true, authorizeTopics: [], rateLimit: null, realm: false });
  });

  it('push and redis: defaults, null disables, bad values name the field', () => {
    const plain = resolveConfig({});
    assert.deepEqual(plain.push, { host: '127.0.0.1', port: 7002, tls: null, apiKeys: [] });
    assert.equal(plain.redis, null);
    assert.equal(resolveConfig({ push: { port: null } }).push.port, null);
    assert.deepEqual(resolveConfig({ redis: { url: 'redis://127.0.0.1:6390' } }).redis, { url: 'redis://127.0.0.1:6390', cluster: null, prefix: 'actorgate:', healthCheckMs: 5000 });
    assert.throws(() => resolveConfig({ redis: { url: 'http://x' } }), /redis\.url/);
    assert.throws(() => resolveConfig({ redis: {} as never }), /redis\.url/);
    assert.throws(() => resolveConfig({ push: { port: 70000 } }), /push\.port/);
    assert.throws(() => resolveConfig({ routes: [{ serverType: 1, endpoints: ['a:1'], authorizeTopics: [''] }] }), /routes\[0\]\.authorizeTopics/);
  });

  it('the resolved config is deeply frozen', () => {
    const config = resolveConfig({ routes: [rule()], topics: { allow: ['room/*'] } });
    isDeepFrozen(config);
    assert.throws(() => {
      (config.routes[0]!.endpoints as string[]).push('x:1');
    }, TypeError);
    assert.throws(() => {
      (config.limits as { maxViolations: number }).maxViolations = 1;
    }, TypeError);
  });

  it('does not freeze or alias the caller’s input', () => {
    const input = { routes: [rule()], topics: { allow: ['room/*'] }, limits: { maxViolations: 3 } };
    const config = resolveConfig(input);
    assert.equal(Object.isFrozen(input.routes[0]!.endpoints), false, 'routes[0].endpoints');
    assert.equal(Object.isFrozen(input.topics.allow), false, 'topics.allow');
    assert.equal(Object.isFrozen(input.limits), false, 'limits');
    input.topics.allow.push('later/*');
    assert.deepEqual(config.topics.allow, ['room/*']);
  });
});

describe('resolveConfig errors name the bad field', () => {
  it('input that is not an object', () => {
    rejects(42, 'options');
    rejects([], 'options');
    rejects(null, 'options');
  });

  it('unknown top-level key', () => {
    rejects({ nmae: 'x' }, 'nmae', /unknown field/);
  });

  it('unknown nested key', () => {
    rejects({ limits: { maxPayload: 10 } }, 'limits.maxPayload', /unknown field/);
    rejects({ backend: { mailbox: 10 } }, 'backend.mailbox', /unknown field/);
    rejects({ listen: { hostname: 'x' } }, 'listen.hostname', /unknown field/);
    rejects({ routes: [rule({ weight: 2 })] }, 'routes[0].weight', /unknown field/);
  });

  it('a section that is not an object', () => {
    rejects({ limits: 5 }, 'limits');
    rejects({ listen: [] }, 'listen');
  });

  it('bad numbers', () => {
    rejects({ limits: { maxPayloadBytes: 65536 } }, 'limits.maxPayloadBytes', /between 0 and 65535/);
    rejects({ limits: { maxPayloadBytes: 1.5 } }, 'limits.maxPayloadBytes', /integer/);
    rejects({ limits: { maxPayloadBytes: '100' } }, 'limits.maxPayloadBytes', /integer/);
    rejects({ limits: { maxPayloadBytes: -1 } }, 'limits.maxPayloadBytes');
    rejects({ workers: 0 }, 'workers');
    rejects({ workers: MAX_WORKERS + 1 }, 'workers');
    rejects({ nodeId: MAX_NODE_ID + 1 }, 'nodeId');
    rejects({ listen: { port: 65536 } }, 'listen.port');
    rejects({ admin: { port: 'x' } }, 'admin.port');
    rejects({ backend: { reconnectMultiplier: 0.5 } }, 'backend.reconnectMultiplier');
    rejects({ backend: { reconnectMultiplier: Infinity } }, 'backend.reconnectMultiplier');
  });

  it('a value just outside its row\'s range names the field and the range, for every integer setting', () => {
    for (const row of SETTING_ROWS) {
      if (row.kind !== 'int') continue;
      const range = new RegExp(`between ${row.min} and ${row.max}, got`);
      rejects(allSettings(() => undefined, { [row.path]: row.min - 1 }), row.path, range);
      rejects(allSettings(() => undefined, { [row.path]: row.max + 1 }), row.path, range);
    }
  });

  it('a value of the wrong type names the field, for every setting', () => {
    for (const row of SETTING_ROWS) {
      const wrong = row.kind === 'string' || row.kind === 'enum' || row.kind === 'globs' ? 17 : 'seventeen';
      // redis.* is only read when the redis section is there; give it a URL unless that is the field under test
      const overrides = row.path.startsWith('redis.') ? { 'redis.url': 'redis://h:1', [row.path]: wrong } : { [row.path]: wrong };
      rejects(allSettings(() => undefined, overrides), row.path);
    }
  });

  it('null turns off only what can be off', () => {
    assert.equal(resolveConfig({ admin: { port: null }, push: { port: null } }).admin.port, null);
    rejects({ listen: { port: null } }, 'listen.port', /integer/);
    rejects({ limits: { maxViolations: null } }, 'limits.maxViolations');
  });

  it('a ConfigError that crosses a thread keeps its field, code and message', () => {
    const original = new ConfigError('routes[1].endpoints[0]', 'must be "host:port", got "x"');
    const wire = structuredClone(errorToWire(original));
    assert.equal(wire.field, 'routes[1].endpoints[0]');
    const rebuilt = errorFromWire(wire);
    assert.ok(rebuilt instanceof ConfigError);
    assert.equal(rebuilt.field, original.field);
    assert.equal(rebuilt.code, 'ERR_ACTORGATE_CONFIG');
    assert.equal(rebuilt.message, original.message);
    assert.equal(errorToWire(new WorkerFailedError(0, 'boom')).field, undefined, 'only errors that name a field carry one');
    // What the supervisor rejects a start with when a worker failed on its config: the CLI still finds the field.
    const failed = new WorkerFailedError(1, rebuilt.message, { cause: rebuilt });
    assert.equal(configErrorOf(failed)?.field, 'routes[1].endpoints[0]');
    assert.equal(configErrorOf(new WorkerFailedError(1, 'exited with code 1')), undefined);
  });

  it('a bigint where a number belongs is a ConfigError, not a TypeError', () => {
    rejects({ limits: { maxPayloadBytes: 10n } }, 'limits.maxPayloadBytes');
  });

  it('bad strings and booleans', () => {
    rejects({ name: '' }, 'name');
    rejects({ listen: { host: 5 } }, 'listen.host');
    rejects({ log: { level: 'loud' } }, 'log.level');
    rejects({ log: { destination: '' } }, 'log.destination');
    rejects({ log: { maxBufferBytes: 1024 } }, 'log.maxBufferBytes', /between 65536/);
    rejects({ log: { file: '/tmp/x' } }, 'log.file', /unknown field/);
    assert.deepEqual(resolveConfig({ log: { destination: '/var/log/ag.log', maxBufferBytes: 65536 } }).log, { level: 'warn', destination: '/var/log/ag.log', maxBufferBytes: 65536 });
    rejects({ faultInjection: 'yes' }, 'faultInjection');
    rejects({ topics: { allow: ['ok', ''] } }, 'topics.allow');
    rejects({ topics: { allow: 'room/*' } }, 'topics.allow');
  });

  it('idle timeout must be 0 or at least 8 s', () => {
    rejects({ limits: { idleTimeoutMs: 1000, pingIntervalMs: 1000 } }, 'limits.pingIntervalMs');
    assert.equal(resolveConfig({ limits: { idleTimeoutMs: 0 } }).limits.idleTimeoutMs, 0);
    assert.equal(resolveConfig({ limits: { idleTimeoutMs: 0, pingIntervalMs: 5000 } }).limits.pingIntervalMs, 5000);
    assert.equal(resolveConfig({ limits: { idleTimeoutMs: 3000, pingIntervalMs: 1000 } }).limits.idleTimeoutMs, 3000);
  });

  it('reconnectMaxMs below reconnectInitialMs', () => {
    rejects({ backend: { reconnectInitialMs: 1000, reconnectMaxMs: 999 } }, 'backend.reconnectMaxMs', /reconnectInitialMs/);
    assert.doesNotThrow(() => resolveConfig({ backend: { reconnectInitialMs: 1000, reconnectMaxMs: 1000 } }));
  });

  it('rate buckets must hold a tick of their rate and the largest message; a trusted proxy must be an address or CIDR', () => {
    rejects({ limits: { messagesPerSecond: 1000, messageBurst: 99 } }, 'limits.messageBurst', /messagesPerSecond \/ 10/);
    rejects({ limits: { bytesPerSecond: 1_000_000, byteBurst: 70_000 } }, 'limits.byteBurst', /bytesPerSecond \/ 10/);
    rejects({ limits: { bytesPerSecond: 100_000, byteBurst: 65_542 } }, 'limits.byteBurst', /maxPayloadBytes \+ 8 \(65543\)/);
    assert.equal(resolveConfig({ limits: { byteBurst: 1, bytesPerSecond: 0 } }).limits.byteBurst, 1, 'off: its burst is not checked');
    assert.equal(resolveConfig({ limits: { maxPayloadBytes: 1000, byteBurst: 1008, bytesPerSecond: 10_000 } }).limits.byteBurst, 1008);
    rejects({ listen: { trustProxy: ['10.0.0.0/8', 'proxy.local'] } }, 'listen.trustProxy[1]', /IP address or CIDR/);
    rejects({ listen: { trustProxy: ['10.0.0.0/33'] } }, 'listen.trustProxy[0]');
    rejects({ listen: { trustProxy: '10.0.0.1' } }, 'listen.trustProxy');
    assert.deepEqual(resolveConfig({ listen: { trustProxy: ['10.0.0.0/8', '::1', 'fd00::/8', '192.0.2.7'] } }).listen.trustProxy, ['10.0.0.0/8', '::1', 'fd00::/8', '192.0.2.7']);
  });

  it('routes must be an array of objects', () => {
    rejects({ routes: {} }, 'routes');
    rejects({ routes: [rule(), 'x'] }, 'routes[1]');
  });

  it('a bad endpoint names its index', () => {
    rejects({ routes: [rule(), rule({ serverType: 2, endpoints: ['10.0.0.1:7100', 'nope'] })] }, 'routes[1].endpoints[1]');
    rejects({ routes: [rule(), rule({ serverType: 2, endpoints: ['10.0.0.1:0'] })] }, 'routes[1].endpoints[0]');
    rejects({ routes: [rule({ endpoints: ['host:65536'] })] }, 'routes[0].endpoints[0]');
    rejects({ routes: [rule({ endpoints: [7100] })] }, 'routes[0].endpoints[0]');
  });

  it('endpoints missing, empty or repeated', () => {
    rejects({ routes: [{ serverType: 1 }] }, 'routes[0].endpoints');
    rejects({ routes: [rule({ endpoints: [] })] }, 'routes[0].endpoints');
    rejects({ routes: [rule({ endpoints: ['a:1', 'a:1'] })] }, 'routes[0].endpoints', /twice/);
  });

  it('bad rule fields', () => {
    rejects({ routes: [{ endpoints: ['a:1'] }] }, 'routes[0].serverType', /required/);
    rejects({ routes: [rule({ serverType: 0 })] }, 'routes[0].serverType');
    rejects({ routes: [rule({ serverType: 256 })] }, 'routes[0].serverType');
    rejects({ routes: [rule({ worldId: 0x8000 })] }, 'routes[0].worldId');
    rejects({ routes: [rule({ instId: 256 })] }, 'routes[0].instId');
    rejects({ routes: [rule({ strategy: 'random' })] }, 'routes[0].strategy');
    rejects({ routes: [rule({ hashBy: 'ip' })] }, 'routes[0].hashBy');
    rejects({ routes: [rule({ notify: 1 })] }, 'routes[0].notify');
  });

  it('a rule\'s rateLimit: defaults filled in, each bad field named', () => {
    const [limited] = resolveConfig({ routes: [rule({ rateLimit: { messagesPerSecond: 50 } })] }).routes;
    assert.deepEqual(limited!.rateLimit, { messagesPerSecond: 50, messageBurst: 50, bytesPerSecond: 0, byteBurst: 65_543 });
    rejects({ routes: [rule({ rateLimit: 5 })] }, 'routes[0].rateLimit', /object/);
    rejects({ routes: [rule({ rateLimit: {} })] }, 'routes[0].rateLimit', /messagesPerSecond or bytesPerSecond/);
    rejects({ routes: [rule({ rateLimit: { messagesPerSecond: 10, burst: 3 } })] }, 'routes[0].rateLimit.burst', /unknown field/);
    rejects({ routes: [rule({ rateLimit: { messagesPerSecond: -1 } })] }, 'routes[0].rateLimit.messagesPerSecond');
    rejects({ routes: [rule(), rule({ serverType: 2, rateLimit: { messagesPerSecond: 1000, messageBurst: 99 } })] }, 'routes[1].rateLimit.messageBurst', /messagesPerSecond \/ 10/);
    rejects({ limits: { maxPayloadBytes: 1000 }, routes: [rule({ rateLimit: { bytesPerSecond: 5000, byteBurst: 1007 } })] }, 'routes[0].rateLimit.byteBurst', /1008/);
    assert.equal(resolveConfig({ routes: [rule({ rateLimit: null })] }).routes[0]!.rateLimit, null);
  });

  it('per-user limits: a byte bucket holds the largest message; the connection limit needs redis and auth', () => {
    rejects({ limits: { userBytesPerSecond: 100_000, userByteBurst: 65_542 } }, 'limits.userByteBurst', /65543/);
    rejects({ limits: { maxConnectionsPerUser: 2 } }, 'limits.maxConnectionsPerUser', /redis/);
    rejects({ limits: { maxConnectionsPerUser: 2 }, redis: { url: 'redis://127.0.0.1:6379' } }, 'limits.maxConnectionsPerUser', /auth/);
    assert.equal(resolveConfig({ limits: { maxConnectionsPerUser: 0 } }).limits.maxConnectionsPerUser, 0);
  });

  it('a duplicate rule names the later one and the earlier one', () => {
    rejects(
      { routes: [rule({ worldId: 2 }), rule({ serverType: 3 }), rule({ worldId: 2, endpoints: ['b:2'] })] },
      'routes[2]',
      /routes\[0\]/,
    );
    // The same serverType with a different worldId/instId is not a duplicate.
    assert.doesNotThrow(() => resolveConfig({ routes: [rule(), rule({ worldId: 1 }), rule({ instId: 1 }), rule({ worldId: 1, instId: 1 })] }));
  });

  it('validateRoutes uses the field prefix it is given (hot-reloaded rules)', () => {
    assert.throws(
      () => validateRoutes([rule({ endpoints: ['bad'] })], 'redis.routes'),
      (err: unknown) => err instanceof ConfigError && err.field === 'redis.routes[0].endpoints[0]',
    );
  });
});

describe('validateEndpoint', () => {
  it('accepts host:port forms', () => {
    for (const endpoint of ['127.0.0.1:1', 'backend-1.svc.local:7100', '[::1]:65535', 'localhost:8080']) {
      assert.equal(validateEndpoint(endpoint, 'e'), endpoint);
    }
  });

  it('refuses anything else', () => {
    for (const endpoint of ['', 'host', ':80', 'host:', 'host:0', 'host:65536', 'http://host:80', 'a b:1', '::1:80']) {
      assert.throws(() => validateEndpoint(endpoint, 'e'), ConfigError, endpoint);
    }
  });
});

describe('endpointsOf', () => {
  it('lists each endpoint once, in first-seen order', () => {
    const config = resolveConfig({
      routes: [
        rule({ endpoints: ['b:1', 'a:1'] }),
        rule({ serverType: 2, endpoints: ['c:1', 'b:1'] }),
        rule({ serverType: 3, endpoints: ['a:1', 'd:1'] }),
      ],
    });
    assert.deepEqual(endpointsOf(config), ['b:1', 'a:1', 'c:1', 'd:1']);
    assert.deepEqual(endpointsOf(resolveConfig({})), []);
  });
});
