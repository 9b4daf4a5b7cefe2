import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineBatcher, type BatchSink, type LineBatcherOptions } from '../../../src/worker/line-batcher.ts';
import { waitUntil } from '../../../src/testkit/index.ts';

/** A sink whose writes complete when the test says so: what a slow destination looks like to the batcher. */
class HeldSink implements BatchSink {
  readonly writes: string[] = [];
  readonly synced: string[] = [];
  readonly #done: ((err: Error | null) => void)[] = [];
  closed = false;
  failSync = false;

  write(text: string, done: (err: Error | null) => void): void {
    this.writes.push(text);
    this.#done.push(done);
  }

  writeSync(text: string): void {
    if (this.failSync) throw new Error('EAGAIN');
    this.synced.push(text);
  }

  close(): void {
    this.closed = true;
  }

  /** Completes the oldest write. */
  complete(err: Error | null = null): void {
    this.#done.shift()!(err);
  }

  get inFlight(): number {
    return this.#done.length;
  }
}

function batcher(options: Partial<LineBatcherOptions> = {}) {
  const sink = new HeldSink();
  const counts = { written: 0, dropped: 0, failures: 0 };
  const lines = new LineBatcher(sink, { maxLines: 100, batchLines: 3, flushIntervalMs: 60_000, ...options }, {
    written: (n) => (counts.written += n),
    dropped: (n) => (counts.dropped += n),
    failed: () => counts.failures++,
  });
  return { sink, counts, lines };
}

test('a full batch is one write of whole lines; one write at a time, the next batch goes when it completes', () => {
  const { sink, counts, lines } = batcher();
  lines.push('a');
  lines.push('b');
  assert.equal(sink.writes.length, 0, 'below the batch size lines wait for the timer');
  lines.push('c');
  assert.deepEqual(sink.writes, ['a\nb\nc\n']);
  for (const line of ['d', 'e', 'f', 'g']) lines.push(line);
  assert.equal(sink.writes.length, 1, 'no second write while one is in flight');
  sink.complete();
  assert.equal(counts.written, 3);
  assert.deepEqual(sink.writes, ['a\nb\nc\n', 'd\ne\nf\ng\n'], 'what waited goes in one write after the first');
  sink.complete();
  assert.deepEqual(counts, { written: 7, dropped: 0, failures: 0 });
  lines.close();
});

test('the timer writes a batch that never filled', async () => {
  const { sink, counts, lines } = batcher({ flushIntervalMs: 20 });
  lines.push('only');
  await waitUntil(() => sink.writes.length === 1, 2000);
  assert.deepEqual(sink.writes, ['only\n']);
  sink.complete();
  assert.equal(counts.written, 1);
  lines.close();
});

test('past maxLines (held plus in flight) lines are dropped and counted, and taken again once writes complete', () => {
  const { sink, counts, lines } = batcher({ maxLines: 4, batchLines: 2 });
  const taken = ['1', '2', '3', '4', '5', '6'].map((line) => lines.push(line));
  assert.deepEqual(taken, [true, true, true, true, false, false]);
  assert.equal(counts.dropped, 2);
  assert.equal(lines.pending, 4);
  sink.complete();
  assert.deepEqual(sink.writes, ['1\n2\n', '3\n4\n'], 'the next full batch went at once');
  assert.equal(lines.push('7'), true, 'room again once the write completed');
  sink.complete();
  assert.equal(counts.written, 4);
  assert.equal(lines.pending, 1);
  lines.close();
  assert.deepEqual(sink.synced, ['7\n']);
});

test('a failed write counts its lines as dropped', () => {
  const { sink, counts, lines } = batcher({ batchLines: 2 });
  lines.push('a');
  lines.push('b');
  sink.complete(new Error('EIO'));
  assert.deepEqual(counts, { written: 0, dropped: 2, failures: 1 });
  lines.close();
});

test('drain() resolves once everything is written, writing what waits without waiting for the timer', async () => {
  const { sink, counts, lines } = batcher({ batchLines: 10 });
  lines.push('a');
  const drained = lines.drain(5000);
  assert.equal(sink.writes.length, 1);
  lines.push('b');
  sink.complete();
  assert.equal(sink.inFlight, 1, 'the line taken meanwhile goes at once');
  sink.complete();
  assert.equal(await drained, true);
  assert.equal(counts.written, 2);
  lines.close();
});

test('drain() gives up at its deadline while the sink does not answer', async () => {
  const { lines } = batcher({ batchLines: 1 });
  lines.push('a');
  assert.equal(await lines.drain(30), false);
  assert.equal(lines.pending, 1);
});

test('close() writes what waits at once, refuses later lines, releases the sink after the write in flight', () => {
  const { sink, counts, lines } = batcher({ batchLines: 2 });
  for (const line of ['a', 'b', 'c']) lines.push(line);
  lines.close();
  assert.deepEqual(sink.synced, ['c\n']);
  assert.equal(sink.closed, false, 'a write is still in flight');
  assert.equal(lines.push('late'), false);
  sink.complete();
  assert.equal(sink.closed, true);
  assert.deepEqual(counts, { written: 3, dropped: 1, failures: 0 });
});

test('close() on a sink that cannot take the lines counts them as dropped', () => {
  const { sink, counts, lines } = batcher();
  sink.failSync = true;
  lines.push('a');
  lines.close();
  assert.deepEqual(counts, { written: 0, dropped: 1, failures: 1 });
  assert.equal(sink.closed, true);
});
