/**
 * A short, bounded run of the fuzz harness (`npm run fuzz` runs a million messages): the gateway survives mutated
 * frames and WebSocket-level malformations, a well-behaved client loses nothing, and every malformation ends its
 * connection except the ones docs/PROTOCOL.md §5 lists as let through by the uWS build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runFuzz } from '../../bench/fuzz/run.ts';

/** Malformations this uWS build does not close the connection for, and how docs/PROTOCOL.md §5 names them. */
const LET_THROUGH: Record<string, string> = {
  'unmasked client frame': '**unmasked client frame**',
  'new data message inside a fragmented one (§5.4)': '**new data message inside a fragmented one**',
};

test('20,000 fuzzed messages and every WebSocket malformation: no crash, no restart, no loss for a good client', { timeout: 120_000 }, async () => {
  const result = await runFuzz({ frames: 20_000, connections: 10, seed: Date.now() >>> 0 });
  const seed = `seed ${result.options.seed}`;
  assert.equal(result.processExited, false, `the gateway process exited (${seed})`);
  assert.equal(result.workerRestarts, 0, `a worker restarted (${seed})`);
  assert.equal(result.framesSent, 20_000);
  assert.ok(result.good.sent > 0);
  assert.equal(result.good.lost, 0, `the good client lost echoes (${seed})`);
  const protocol = readFileSync(resolve(import.meta.dirname, '../../docs/PROTOCOL.md'), 'utf8');
  for (const m of result.malformations) {
    const documented = LET_THROUGH[m.name];
    if (documented !== undefined) assert.ok(protocol.includes(documented), `docs/PROTOCOL.md names "${m.name}" as let through`);
    else assert.ok(m.closed, `"${m.name}" left the connection open`);
  }
});
