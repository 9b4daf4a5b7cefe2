/**
 * Config as a careless integrator or a hostile config file writes it: prototype keys, numbers that are not numbers,
 * and a name that the backends' gRPC metadata cannot carry. Each is refused at start, naming the field.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/core/errors.ts';
import { resolveConfig } from '../../../src/core/options.ts';

function refuses(input: unknown, field: string, message: RegExp): void {
  assert.throws(
    () => resolveConfig(input),
    (err: unknown) => err instanceof ConfigError && err.field === field && message.test(err.message),
    `${JSON.stringify(input)} → ${field}`,
  );
}

describe('hostile config', () => {
  it('__proto__ and constructor keys from a JSON file are unknown fields at every level, and pollute nothing', () => {
    const cases: [string, string][] = [
      ['{"__proto__": {"workers": 3}}', '__proto__'],
      ['{"constructor": {"prototype": {"polluted": 1}}}', 'constructor'],
      ['{"limits": {"__proto__": {"maxPayloadBytes": 5}}}', 'limits.__proto__'],
      ['{"backend": {"constructor": 1}}', 'backend.constructor'],
      ['{"routes": [{"serverType": 1, "endpoints": ["b:1"], "__proto__": {"notify": true}}]}', 'routes[0].__proto__'],
      ['{"auth": {"__proto__": {"required": false}, "jwt": {"keys": [{"jwksUrl": "http://idp/", "algorithms": ["RS256"]}]}}}', 'auth.__proto__'],
      ['{"auth": {"jwt": {"__proto__": {}, "keys": [{"jwksUrl": "http://idp/", "algorithms": ["RS256"]}]}}}', 'auth.jwt.__proto__'],
      ['{"auth": {"jwt": {"keys": [{"jwksUrl": "http://idp/", "algorithms": ["RS256"], "__proto__": {"kid": "x"}}]}}}', 'auth.jwt.keys[0].__proto__'],
    ];
    for (const [text, field] of cases) refuses(JSON.parse(text), field, /unknown field/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).workers, undefined);
  });

  it('NaN, Infinity and out-of-range numbers are named as what they are', () => {
    refuses({ workers: NaN }, 'workers', /must be an integer, got NaN$/);
    refuses({ limits: { maxPayloadBytes: Infinity } }, 'limits.maxPayloadBytes', /got Infinity$/);
    refuses({ backend: { reconnectMultiplier: -Infinity } }, 'backend.reconnectMultiplier', /got -Infinity$/);
    refuses({ limits: { messagesPerSecond: 1e300 } }, 'limits.messagesPerSecond', /between 0 and \d+, got 1e\+300/);
    refuses({ workers: '2' }, 'workers', /got "2"/);
    refuses({ nodeId: 2 ** 53 }, 'nodeId', /between 0 and 8191/);
  });

  it('the name must be printable ASCII (it travels as gRPC metadata, where anything else throws when a stream opens)', () => {
    for (const name of ['gaté', 'gate\nname', 'tab\there', 'x'.repeat(256), '\u0000']) refuses({ name }, 'name', /printable ASCII/);
    assert.equal(resolveConfig({ name: 'gate-1.eu west/blue' }).name, 'gate-1.eu west/blue');
    assert.equal(resolveConfig({ name: 'x'.repeat(255) }).name.length, 255);
  });
});
