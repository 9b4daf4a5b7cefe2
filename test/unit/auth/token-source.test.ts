import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bearerToken, findToken, subprotocolToken } from '../../../src/auth/token-source.ts';

test('sources are taken in order: Authorization header, then access_token, then the bearer subprotocol', () => {
  const offered = 'actorgate.v1, actorgate.bearer.from-protocol';
  assert.deepEqual(findToken('Bearer from-header', 'from-query', offered), { token: 'from-header', source: 'header' });
  assert.deepEqual(findToken('', 'from-query', offered), { token: 'from-query', source: 'query' });
  assert.deepEqual(findToken('', undefined, offered), { token: 'from-protocol', source: 'subprotocol' });
  assert.equal(findToken('', undefined, 'actorgate.v1'), undefined);
  assert.equal(findToken('', undefined, ''), undefined);
});

test('an Authorization header of another scheme is no source, so the next one is used', () => {
  assert.deepEqual(findToken('Basic dXNlcjpwYXNz', 'q', ''), { token: 'q', source: 'query' });
  assert.equal(findToken('Basic dXNlcjpwYXNz', undefined, ''), undefined);
});

test('the Bearer scheme is case-insensitive and the token is trimmed; a bare scheme is an empty token', () => {
  assert.equal(bearerToken('bearer abc.def.ghi'), 'abc.def.ghi');
  assert.equal(bearerToken('BEARER   abc  '), 'abc');
  assert.equal(bearerToken('Bearer\tabc'), 'abc');
  assert.equal(bearerToken('Bearer'), '');
  assert.equal(bearerToken('Bearerx abc'), undefined);
  // An empty query parameter is present (and refused later as empty), not absent.
  assert.deepEqual(findToken('', '', ''), { token: '', source: 'query' });
});

test('the subprotocol entry is found anywhere in the offered list', () => {
  assert.equal(subprotocolToken('actorgate.bearer.t1,actorgate.v1'), 't1');
  assert.equal(subprotocolToken(' chat ,  actorgate.v1 ,actorgate.bearer.eyJ.x.y  '), 'eyJ.x.y');
  assert.equal(subprotocolToken('actorgate.v1'), undefined);
  assert.equal(subprotocolToken('xactorgate.bearer.t'), undefined);
});
