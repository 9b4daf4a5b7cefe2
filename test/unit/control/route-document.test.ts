import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fieldLabel, parseRouteDocument, validateRouteDocument } from '../../../src/control/route-document.ts';
import { EndpointSlots } from '../../../src/control/endpoint-slots.ts';

describe('route document', () => {
  it('takes the config file rules, realms and a version; a bare array is the routes', () => {
    const doc = parseRouteDocument(JSON.stringify({ version: 3, routes: [{ serverType: 1, endpoints: ['a:1'] }, { serverType: 2, realm: true }], realms: { 7: ['b:1', 'dns:///pods.local:9'] } }));
    assert.equal(doc.version, 3);
    assert.equal(doc.routes[1]!.realm, true);
    assert.deepEqual(doc.routes[1]!.endpoints, []);
    assert.deepEqual(doc.realms, { 7: ['b:1', 'dns:///pods.local:9'] });
    assert.equal(validateRouteDocument([{ serverType: 1, endpoints: ['a:1'] }]).routes.length, 1);
  });

  it('names the bad field, as the config file check does', () => {
    const field = (value: unknown) => {
      try {
        validateRouteDocument(value);
      } catch (err) {
        return (err as { field: string }).field;
      }
      return 'accepted';
    };
    assert.equal(field({ routes: [{ serverType: 1, endpoints: ['a:1'] }, { serverType: 1, endpoints: ['x'] }] }), 'routes[1].endpoints[0]');
    assert.equal(field({ routes: [{ serverType: 1, worldId: 3, realm: true }] }), 'routes[0].worldId');
    assert.equal(field({ routes: [], realms: { 0: ['a:1'] } }), 'realms.0');
    assert.equal(field({ routes: [], realms: { 5: [] } }), 'realms.5');
    assert.equal(field({ routes: [], extra: 1 }), 'extra');
    assert.equal(field({ version: -1 }), 'version');
    assert.throws(() => parseRouteDocument('{'), /document/);
    assert.equal(fieldLabel('routes[12].endpoints[3]'), 'routes[].endpoints[]');
    assert.equal(fieldLabel('realms.77[0]'), 'realms.*[]');
  });
});

describe('EndpointSlots', () => {
  it('keeps a staying endpoint on its slot, reuses a freed slot only after the cooldown, and refuses past the bound', () => {
    let now = 0;
    const slots = new EndpointSlots(2, 1000, () => now);
    assert.deepEqual(slots.assign(['a', 'b'])!.slots, { a: 0, b: 1 });
    const swap = slots.assign(['b'])!;
    assert.deepEqual(swap.slots, { b: 1 });
    // a's slot is still cooling (its closing actors may write it): c does not fit yet.
    assert.equal(slots.assign(['b', 'c']), undefined);
    assert.deepEqual(slots.entries(), [['b', 1]]);
    now = 1000;
    const reused = slots.assign(['b', 'c'])!;
    assert.deepEqual(reused.slots, { b: 1, c: 0 });
    assert.deepEqual(reused.reused, [0]);
  });
});

describe('control options', () => {
  it('control.routes "redis" needs redis; dns:/// endpoints pass the config file check', async () => {
    const { resolveConfig } = await import('../../../src/core/options.ts');
    assert.throws(() => resolveConfig({ control: { routes: 'redis' } }), /control\.routes/);
    assert.equal(resolveConfig({ routes: [{ serverType: 1, endpoints: ['dns:///pods.local:7100'] }] }).routes[0]!.endpoints[0], 'dns:///pods.local:7100');
    assert.throws(() => resolveConfig({ routes: [{ serverType: 1, endpoints: ['dns://pods.local:7100'] }] }), /routes\[0\]\.endpoints\[0\]/);
  });
});
