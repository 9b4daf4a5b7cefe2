import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointPicker } from '../../../src/routing/endpoint-picker.ts';
import { RouteTable, type Route } from '../../../src/routing/route-table.ts';
import { validateRoutes } from '../../../src/core/options.ts';
import { SessionIdGenerator } from '../../../src/core/session-id.ts';

const ENDPOINTS = ['10.0.0.1:7100', '10.0.0.2:7100', '10.0.0.3:7100'];

function routes(...rules: Record<string, unknown>[]): readonly Route[] {
  return new RouteTable(validateRoutes(rules)).routes;
}

/** Realistic keys: session ids from one worker's generator. */
function sessionIds(n: number): string[] {
  const gen = new SessionIdGenerator(77, 1);
  return Array.from({ length: n }, () => gen.next());
}

const session = (sessionId: string, userId?: string) => ({ sessionId, userId });

describe('EndpointPicker round-robin', () => {
  it('cycles through the endpoints evenly', () => {
    const [route] = routes({ serverType: 1, endpoints: ENDPOINTS });
    const picker = new EndpointPicker();
    const counts = new Map<string, number>();
    const picks: string[] = [];
    for (let i = 0; i < 300; i++) {
      const endpoint = picker.pick(route!, ENDPOINTS, session(String(i)))!;
      picks.push(endpoint);
      counts.set(endpoint, (counts.get(endpoint) ?? 0) + 1);
    }
    assert.deepEqual(picks.slice(0, 6), [...ENDPOINTS, ...ENDPOINTS]);
    for (const endpoint of ENDPOINTS) assert.equal(counts.get(endpoint), 100);
  });

  it('keeps a separate cursor per rule', () => {
    const [a, b] = routes({ serverType: 1, endpoints: ENDPOINTS }, { serverType: 2, endpoints: ENDPOINTS });
    const picker = new EndpointPicker();
    assert.equal(picker.pick(a!, ENDPOINTS, session('1')), ENDPOINTS[0]);
    assert.equal(picker.pick(a!, ENDPOINTS, session('2')), ENDPOINTS[1]);
    assert.equal(picker.pick(b!, ENDPOINTS, session('3')), ENDPOINTS[0]);
    assert.equal(picker.pick(a!, ENDPOINTS, session('4')), ENDPOINTS[2]);
    assert.equal(picker.pick(b!, ENDPOINTS, session('5')), ENDPOINTS[1]);
  });

  it('picks only among the candidates given, and none from an empty list', () => {
    const [route] = routes({ serverType: 1, endpoints: ENDPOINTS });
    const picker = new EndpointPicker();
    const healthy = [ENDPOINTS[0]!, ENDPOINTS[2]!];
    for (let i = 0; i < 10; i++) assert.ok(healthy.includes(picker.pick(route!, healthy, session(String(i)))!));
    assert.equal(picker.pick(route!, [], session('x')), undefined);
  });
});

describe('EndpointPicker consistent-hash', () => {
  const [bySession, byUser] = routes(
    { serverType: 1, endpoints: ENDPOINTS, strategy: 'consistent-hash' },
    { serverType: 2, endpoints: ENDPOINTS, strategy: 'consistent-hash', hashBy: 'user' },
  );

  it('is stable for the same key, across picks and across picker instances', () => {
    const a = new EndpointPicker();
    const b = new EndpointPicker();
    for (const id of sessionIds(200)) {
      const first = a.pick(bySession!, ENDPOINTS, session(id));
      assert.equal(a.pick(bySession!, ENDPOINTS, session(id)), first);
      assert.equal(b.pick(bySession!, ENDPOINTS, session(id)), first);
      // Candidate order does not matter.
      assert.equal(b.pick(bySession!, [...ENDPOINTS].reverse(), session(id)), first);
    }
  });

  it('spreads 3000 keys roughly evenly over 3 endpoints (each 20–47%)', () => {
    const picker = new EndpointPicker();
    for (const keys of [sessionIds(3000), Array.from({ length: 3000 }, (_, i) => `user-${i}`)]) {
      const counts = new Map<string, number>();
      for (const key of keys) {
        const endpoint = picker.pick(bySession!, ENDPOINTS, session(key))!;
        counts.set(endpoint, (counts.get(endpoint) ?? 0) + 1);
      }
      for (const endpoint of ENDPOINTS) {
        const share = (counts.get(endpoint) ?? 0) / keys.length;
        assert.ok(share >= 0.2 && share <= 0.47, `${endpoint} got ${(share * 100).toFixed(1)}% (${keys[0]}…)`);
      }
    }
  });

  it('removing an endpoint moves only the keys that were on it', () => {
    const picker = new EndpointPicker();
    const keys = sessionIds(3000);
    const before = new Map(keys.map((key) => [key, picker.pick(bySession!, ENDPOINTS, session(key))!]));
    const removed = ENDPOINTS[1]!;
    const remaining = ENDPOINTS.filter((e) => e !== removed);
    let moved = 0;
    for (const key of keys) {
      const after = picker.pick(bySession!, remaining, session(key))!;
      if (before.get(key) === removed) {
        assert.ok(remaining.includes(after));
        moved++;
      } else {
        assert.equal(after, before.get(key), `key ${key} moved although its endpoint stayed`);
      }
    }
    assert.ok(moved > 0);
  });

  it('hashBy user keys on the user id, falling back to the session id', () => {
    const picker = new EndpointPicker();
    const ids = sessionIds(300);
    // Same user from many sessions: always the same endpoint.
    const forUser = new Set(ids.map((id) => picker.pick(byUser!, ENDPOINTS, session(id, 'alice'))));
    assert.equal(forUser.size, 1);
    // It is the endpoint a session-keyed rule would pick for the key "alice".
    assert.equal([...forUser][0], picker.pick(bySession!, ENDPOINTS, session('alice')));
    // Without a user id (or with an empty one) the session id is the key.
    for (const id of ids) {
      const expected = picker.pick(bySession!, ENDPOINTS, session(id));
      assert.equal(picker.pick(byUser!, ENDPOINTS, session(id)), expected);
      assert.equal(picker.pick(byUser!, ENDPOINTS, session(id, '')), expected);
    }
  });

  it('hashBy session ignores the user id', () => {
    const picker = new EndpointPicker();
    const ids = sessionIds(300);
    const endpoints = new Set(ids.map((id) => picker.pick(bySession!, ENDPOINTS, session(id, 'alice'))));
    assert.ok(endpoints.size > 1);
  });
});
