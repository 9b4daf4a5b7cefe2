import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../../src/core/options.ts';
import { packServerId } from '../../../src/protocol/frame.ts';
import { bindingKey, bindingWorld, RouteTable, ruleKey } from '../../../src/routing/route-table.ts';
import { SessionBindings } from '../../../src/worker/session-bindings.ts';
import type { StreamActor } from '../../../src/backend/stream-actor.ts';

describe('binding keys', () => {
  it('a rule keeps its key from one table to the next, whatever its position', () => {
    const rules = resolveConfig({ routes: [{ serverType: 1, endpoints: ['a:1'] }, { serverType: 2, worldId: 7, instId: 3, endpoints: ['b:1'] }] }).routes;
    const before = new RouteTable(rules);
    const after = new RouteTable([...rules].reverse());
    const route = before.match(packServerId({ serverType: 2, worldId: 7, instId: 3 }))!;
    assert.equal(route.key, ruleKey(2, 7, 3));
    assert.equal(after.byKey(route.key)!.rule, route.rule);
    assert.equal(after.byKey(ruleKey(9, 0, 0)), undefined);
  });

  it('a realm rule binds per world, apart from every plain rule key', () => {
    const [rule] = resolveConfig({ routes: [{ serverType: 3, realm: true }] }).routes;
    const route = new RouteTable([rule!]).routes[0]!;
    const seven = bindingKey(route, packServerId({ serverType: 3, worldId: 7 }));
    const eight = bindingKey(route, packServerId({ serverType: 3, worldId: 8 }));
    assert.notEqual(seven, eight);
    assert.ok(seven >= 0x80000000);
    assert.equal(bindingWorld(seven - 0x80000000), 7);
  });
});

describe('SessionBindings.release', () => {
  it('tells the caller to close the session on an actor only when no other rule of the session uses it', () => {
    const shared = { endpoint: 'a:1' } as StreamActor;
    const bindings = new SessionBindings();
    bindings.bind(1, shared, true);
    bindings.bind(2, shared, false);
    assert.equal(bindings.release(1), undefined, 'rule 2 still uses it');
    assert.equal(bindings.get(1), undefined);
    assert.deepEqual(bindings.release(2), { actor: shared, notify: true });
    assert.equal([...bindings.actors()].length, 0);
    assert.equal(bindings.release(3), undefined);
  });
});
