/**
 * docs/PROTOCOL.md §15 against what real gateways export: a dashboard or alert written from the table must find each
 * metric, with its type and labels, and every metric exported must be in the table.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { metricCatalog } from './metrics-catalog.ts';

const HEADER = '| metric | type | labels | meaning |';

function docTable(): Map<string, { type: string; labels: string[] }> {
  const lines = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8').split('\n');
  const header = lines.indexOf(HEADER);
  assert.notEqual(header, -1, `docs/PROTOCOL.md has no line "${HEADER}"`);
  const rows = new Map<string, { type: string; labels: string[] }>();
  for (let i = header + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const [name, type, labels] = lines[i]!.split('|').slice(1, 4).map((cell) => cell.trim());
    rows.set(name!.replace(/`/g, ''), { type: type!, labels: labels === '—' ? [] : labels!.split(', ') });
  }
  return rows;
}

describe('docs/PROTOCOL.md metric table', () => {
  test('lists every metric the gateway exports (plain, with JWT auth, with an auth service), with its type and labels', async () => {
    const documented = docTable();
    const exported = await metricCatalog();
    assert.ok(exported.size > 40, `only ${exported.size} metrics read`);
    const missing = [...exported.keys()].filter((name) => !documented.has(name));
    assert.deepEqual(missing, [], 'exported but not in docs/PROTOCOL.md §15');
    for (const [name, entry] of exported) {
      const row = documented.get(name)!;
      assert.equal(row.type, entry.type, `${name}: type`);
      for (const label of entry.labels) assert.ok(row.labels.includes(label), `${name}: label ${label} not documented`);
    }
  });
});
