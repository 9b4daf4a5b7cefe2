import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable } from '../../../src/routing/route-table.ts';
import { validateRoutes } from '../../../src/core/options.ts';
import { packServerId } from '../../../src/protocol/frame.ts';

const sid = (serverType: number, worldId = 0, instId = 0, isZip = false) => packServerId({ serverType, worldId, instId, isZip });

/** Rules as the config loader hands them over: validated, defaults filled. */
function table(rules: Record<string, unknown>[]): RouteTable {
  return new RouteTable(validateRoutes(rules));
}

describe('RouteTable', () => {
  it('a wildcard rule matches any worldId and instId of its serverType', () => {
    const routes = table([{ serverType: 5, endpoints: ['a:1'] }]);
    for (const [w, i] of [[0, 0], [1, 0], [0, 1], [0x7fff, 0xff], [42, 7]] as const) {
      assert.equal(routes.match(sid(5, w, i))?.index, 0, `world ${w} inst ${i}`);
    }
  });

  it('isZip does not affect matching', () => {
    const routes = table([{ serverType: 5, worldId: 3, endpoints: ['a:1'] }]);
    assert.equal(routes.match(sid(5, 3, 0, true))?.index, 0);
  });

  it('a fixed worldId or instId matches only that value', () => {
    const routes = table([
      { serverType: 1, worldId: 2, endpoints: ['w:1'] },
      { serverType: 2, instId: 9, endpoints: ['i:1'] },
      { serverType: 3, worldId: 2, instId: 9, endpoints: ['wi:1'] },
    ]);
    assert.equal(routes.match(sid(1, 2, 77))?.index, 0);
    assert.equal(routes.match(sid(1, 3, 0)), undefined);
    assert.equal(routes.match(sid(2, 500, 9))?.index, 1);
    assert.equal(routes.match(sid(2, 500, 8)), undefined);
    assert.equal(routes.match(sid(3, 2, 9))?.index, 2);
    assert.equal(routes.match(sid(3, 2, 8)), undefined);
    assert.equal(routes.match(sid(3, 1, 9)), undefined);
  });

  it('the most specific rule wins: world+inst > world > inst > wildcard, whatever the rule order', () => {
    const rules = [
      { serverType: 7, endpoints: ['any:1'] },
      { serverType: 7, instId: 4, endpoints: ['inst:1'] },
      { serverType: 7, worldId: 3, endpoints: ['world:1'] },
      { serverType: 7, worldId: 3, instId: 4, endpoints: ['both:1'] },
    ];
    for (const order of [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]]) {
      const routes = table(order.map((i) => rules[i]!));
      const endpointOf = (serverId: number) => routes.match(serverId)?.rule.endpoints[0];
      assert.equal(endpointOf(sid(7, 3, 4)), 'both:1', `order ${order}`);
      assert.equal(endpointOf(sid(7, 3, 5)), 'world:1', `order ${order}`);
      assert.equal(endpointOf(sid(7, 2, 4)), 'inst:1', `order ${order}`);
      assert.equal(endpointOf(sid(7, 2, 5)), 'any:1', `order ${order}`);
    }
  });

  it('the matched route keeps its index in the configured list', () => {
    const routes = table([
      { serverType: 1, endpoints: ['a:1'] },
      { serverType: 2, endpoints: ['b:1'] },
      { serverType: 2, worldId: 1, endpoints: ['c:1'] },
    ]);
    const route = routes.match(sid(2, 1));
    assert.equal(route?.index, 2);
    assert.equal(route?.specificity, 2);
    assert.equal(routes.routes.length, 3);
    assert.equal(routes.routes[2], route);
  });

  it('no matching rule gives undefined', () => {
    const routes = table([{ serverType: 1, worldId: 5, endpoints: ['a:1'] }]);
    assert.equal(routes.match(sid(2)), undefined);
    assert.equal(routes.match(sid(1, 6)), undefined);
    assert.equal(new RouteTable([]).match(sid(1)), undefined);
  });

  it('serverType 0 (gateway control) never matches a rule', () => {
    const routes = table([
      { serverType: 1, endpoints: ['a:1'] },
      { serverType: 255, endpoints: ['b:1'] },
    ]);
    for (const serverId of [0, sid(0, 1, 1), sid(0, 0x7fff, 0xff, true)]) assert.equal(routes.match(serverId), undefined);
    assert.equal(routes.match(sid(255, 1, 1))?.index, 1);
  });
});
