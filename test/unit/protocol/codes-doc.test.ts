import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Code, isRetryable } from '../../../src/protocol/codes.ts';

// Clients are written against docs/PROTOCOL.md §4, the gateway against codes.ts: a code in one and not the other,
// or with another number, is a client that misreads a close.
const DOC = new URL('../../../docs/PROTOCOL.md', import.meta.url);
const HEADER = '| code | name | retryable | sent as | meaning |';

interface DocRow {
  code: number;
  name: string;
  retryable: string;
  line: number;
}

/** The rows of the code table: the lines that follow its header and separator, up to the first line not in it. */
function docRows(): DocRow[] {
  const lines = readFileSync(DOC, 'utf8').split('\n');
  const header = lines.findIndex((line) => line.trim() === HEADER);
  assert.notEqual(header, -1, `docs/PROTOCOL.md has no line "${HEADER}"`);
  assert.match(lines[header + 1]!, /^\|(\s*-+\s*\|){5}\s*$/, 'the header is followed by its separator');
  const rows: DocRow[] = [];
  for (let i = header + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const cells = lines[i]!.split('|').slice(1, -1).map((cell) => cell.trim());
    assert.ok(cells.length >= 5, `docs/PROTOCOL.md:${i + 1}: a row of the code table has 5 cells`);
    assert.match(cells[0]!, /^\d+$/, `docs/PROTOCOL.md:${i + 1}: the code cell is a number`);
    rows.push({ code: Number(cells[0]), name: cells[1]!, retryable: cells[2]!, line: i + 1 });
  }
  return rows;
}

describe('docs/PROTOCOL.md code table', () => {
  const rows = docRows();
  const entries = Object.entries(Code);

  it('lists every code of codes.ts, with its number', () => {
    const byName = new Map(rows.map((row) => [row.name, row]));
    const missing = entries.filter(([name]) => !byName.has(name)).map(([name, value]) => `${name} (${value})`);
    assert.deepEqual(missing, [], 'codes missing from the doc');
    for (const [name, value] of entries) assert.equal(byName.get(name)!.code, value, `docs/PROTOCOL.md:${byName.get(name)!.line}: ${name}`);
  });

  it('lists nothing codes.ts does not have', () => {
    const known = new Map<string, number>(entries);
    const extra = rows.filter((row) => known.get(row.name) !== row.code).map((row) => `docs/PROTOCOL.md:${row.line}: ${row.code} ${row.name}`);
    assert.deepEqual(extra, [], 'rows with no matching code');
  });

  it('lists each code once, in ascending order', () => {
    const codes = rows.map((row) => row.code);
    assert.deepEqual(codes, [...new Set(codes)].sort((a, b) => a - b));
  });

  it('says retryable exactly for the retryable range', () => {
    for (const row of rows) assert.equal(row.retryable, isRetryable(row.code) ? 'yes' : 'no', `docs/PROTOCOL.md:${row.line}: ${row.name}`);
  });
});
