import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { resolveConfig } from '../../../src/core/options.ts';
import { RouteControl } from '../../../src/control/route-control.ts';
import type { RouteSnapshot } from '../../../src/routing/route-snapshot.ts';
import { waitUntil } from '../../../src/testkit/index.ts';

const logger = pino({ level: 'silent' });

describe('RouteControl with dns:/// endpoints (the config file as source)', () => {
  it('expands names into addresses, follows a changed answer, and refuses a set past control.maxEndpoints', async () => {
    let answer = ['10.0.0.1'];
    const config = resolveConfig({ routes: [{ serverType: 1, endpoints: ['dns:///pods.test:7100', 'static:7000'] }], control: { dnsRefreshMs: 100, maxEndpoints: 4 } });
    const control = new RouteControl(config, logger, { resolve: async () => answer });
    const tables: RouteSnapshot[] = [];
    control.onTable = (table) => tables.push(table);
    try {
      assert.equal(control.capacity, 4);
      await control.start();
      assert.deepEqual(control.snapshot.rules[0]!.endpoints, ['10.0.0.1:7100', 'static:7000']);
      assert.deepEqual(control.snapshot.slots, { '10.0.0.1:7100': 0, 'static:7000': 1 });
      answer = ['10.0.0.2', 'fd00::5'];
      await waitUntil(() => tables.length === 2, 2000, 'the changed answer applied');
      assert.deepEqual(tables[1]!.rules[0]!.endpoints, ['10.0.0.2:7100', '[fd00::5]:7100', 'static:7000']);
      assert.equal(tables[1]!.generation, tables[0]!.generation + 1);
      // Two more endpoints find no free slot (the one 10.0.0.1 left is still cooling): refused, the table in force stays.
      answer = ['10.0.0.2', '10.0.0.3', '10.0.0.4'];
      await waitUntil(() => control.refused.get('control.maxEndpoints') === 1, 2000, 'the refusal');
      assert.equal(control.snapshot, tables[1]);
    } finally {
      control.close();
    }
  });

  it('is a constant for static routes: slots in first-seen order, nothing started', async () => {
    const control = new RouteControl(resolveConfig({ routes: [{ serverType: 1, endpoints: ['b:1', 'a:1'] }, { serverType: 2, endpoints: ['a:1'] }] }), logger);
    await control.start();
    assert.equal(control.dynamic, false);
    assert.equal(control.capacity, 2);
    assert.deepEqual(control.slotEntries(), [['b:1', 0], ['a:1', 1]]);
    control.close();
  });
});
