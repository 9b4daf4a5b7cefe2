import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, droppedLogLines } from '../../../src/core/logger.ts';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'actorgate-logger-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function flushOnce(logger: ReturnType<typeof createLogger>): Promise<void> {
  return new Promise((resolve, reject) => logger.flush((err) => (err ? reject(err) : resolve())));
}

/** flush() called while a write is in flight answers when that write ends; the second writes the rest. */
async function flushed(logger: ReturnType<typeof createLogger>): Promise<void> {
  await flushOnce(logger);
  await flushOnce(logger);
}

describe('createLogger', () => {
  it('writes JSON lines with the thread binding to a file destination', async () => {
    const file = join(dir, 'nested', 'plain.log');
    const logger = createLogger({ level: 'info', destination: file, maxBufferBytes: 1 << 20 }, { worker: 7 });
    logger.info({ session: '42' }, 'connection open');
    logger.debug('below the level');
    await flushed(logger);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(lines.length, 1);
    assert.equal(lines[0].msg, 'connection open');
    assert.equal(lines[0].worker, 7);
    assert.equal(lines[0].session, '42');
  });

  it('bounds its buffer: lines past maxBufferBytes while the destination is busy are dropped and counted', async () => {
    const file = join(dir, 'bounded.log');
    let onDrop = 0;
    const before = droppedLogLines();
    const logger = createLogger({ level: 'info', destination: file, maxBufferBytes: 64 * 1024 }, { worker: 1 }, () => onDrop++);
    const total = 5000;
    // One synchronous burst: no write can complete before it ends, so everything past the bound must be dropped.
    for (let i = 0; i < total; i++) logger.info({ i, padding: 'x'.repeat(100) }, 'burst');
    const dropped = droppedLogLines() - before;
    assert.equal(onDrop, dropped, 'every drop reaches the callback');
    assert.ok(dropped > total / 2, `only ${dropped} of ${total} lines dropped with a 64 KiB bound`);
    await flushed(logger);
    const text = readFileSync(file, 'utf8');
    assert.ok(Buffer.byteLength(text) <= 64 * 1024, `${Buffer.byteLength(text)} bytes buffered past the bound`);
    const written = text.trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(written.length + dropped, total, 'each line is either written whole or counted as dropped');
    assert.deepEqual(
      written.map((line) => line.i),
      Array.from({ length: written.length }, (_, i) => i),
      'the lines kept are the first ones, in order',
    );
  });
});
