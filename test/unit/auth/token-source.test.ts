import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bearerToken, findToken, subprotocolToken } from '../../../src/auth/token-source.ts';

test('sources are taken in order: Authorization header, then access_token, then the bearer subprotocol', () => {
  const offered = 'actorgate.v1, actorgate.bearer.from-protocol';
  assert.equal(findToken('Bearer from-header', 'from-query', offered), 'from-header');
  assert.equal(findToken('', 'from-query', offered), 'from-query');
  assert.equal(findToken('', undefined, offered), 'from-protocol');
  assert.equal(findToken('', undefined, 'actorgate.v1'), undefined);
  assert.equal(findToken('', undefined, ''), undefined);
});

test('an Authorization header of another scheme is no source, so the next one is used', () => {
  assert.equal(findToken('Basic dXNlcjpwYXNz', 'q', ''), 'q');
  assert.equal(findToken('Basic dXNlcjpwYXNz', undefined, ''), undefined);
});

test('the Bearer scheme is case-insensitive and the token is trimmed; a bare scheme is an empty token', () => {
  assert.equal(bearerToken('bearer abc.def.ghi'), 'abc.def.ghi');
  assert.equal(bearerToken('BEARER   abc  '), 'abc');
  assert.equal(bearerToken('Bearer\tabc'), 'abc');
  assert.equal(bearerToken('Bearer'), '');
  assert.equal(bearerToken('Bearerx abc'), undefined);
  // An empty query parameter is present (and refused later as empty), not absent.
  assert.equal(findToken('', '', ''), '');
});

test('the subprotocol entry is found anywhere in the offered list', () => {
  assert.equal(subprotocolToken('actorgate.bearer.t1,actorgate.v1'), 't1');
  assert.equal(subprotocolToken(' chat ,  actorgate.v1 ,actorgate.bearer.eyJ.x.y  '), 'eyJ.x.y');
  assert.equal(subprotocolToken('actorgate.v1'), undefined);
  assert.equal(subprotocolToken('xactorgate.bearer.t'), undefined);
});
