/**
 * The access log's destination: stdout, stderr or a file, written with plain fs calls on one descriptor (the write
 * runs on libuv's thread pool, so a slow disk or a stalled pipe delays only the batch, never the worker's loop).
 *
 * A file is opened for appending (O_APPEND: each batch is one write at the end, so threads sharing the file do not
 * interleave, and a `copytruncate` rotation is safe). Before each batch its path is checked (one stat): once the path
 * names another file or none (logrotate's default: rename, then create), the sink reopens it, so no signal is needed.
 */
import { closeSync, fstatSync, mkdirSync, openSync, writeSync, close, open, stat, write } from 'node:fs';
import { dirname } from 'node:path';
import type { BatchSink } from './line-batcher.ts';

/** A pipe that is full (a non-blocking stdout) is retried after this long. */
const RETRY_MS = 10;

export class AccessLogSink implements BatchSink {
  readonly #path: string | undefined;
  #fd: number;
  /** The open file's identity, to tell when its path names another file. */
  #ino = 0;
  #dev = 0;
  #closed = false;

  /** `destination`: 'stdout', 'stderr' or a file path (its folder created if missing). Throws when it cannot open. */
  constructor(destination: string) {
    if (destination === 'stdout' || destination === 'stderr') {
      this.#fd = destination === 'stdout' ? 1 : 2;
      return;
    }
    this.#path = destination;
    mkdirSync(dirname(destination), { recursive: true });
    this.#fd = openSync(destination, 'a');
    this.#remember(this.#fd);
  }

  write(text: string, done: (err: Error | null) => void): void {
    const bytes = Buffer.from(text);
    if (this.#path === undefined) return this.#writeAll(bytes, 0, done);
    stat(this.#path, (err, stats) => {
      if (err === null && stats.ino === this.#ino && stats.dev === this.#dev) return this.#writeAll(bytes, 0, done);
      this.#reopen((openErr) => (openErr === null ? this.#writeAll(bytes, 0, done) : done(openErr)));
    });
  }

  writeSync(text: string): void {
    const bytes = Buffer.from(text);
    // EAGAIN (a full non-blocking pipe) throws: a thread about to end does not wait for its reader.
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(this.#fd, bytes, offset);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#path !== undefined) closeSync(this.#fd);
  }

  #writeAll(bytes: Buffer, offset: number, done: (err: Error | null) => void): void {
    write(this.#fd, bytes, offset, bytes.length - offset, null, (err, written) => {
      if (err !== null) {
        if (err.code === 'EAGAIN') return void setTimeout(() => this.#writeAll(bytes, offset, done), RETRY_MS).unref();
        return done(err);
      }
      // A pipe may take part of a batch; a file takes all of it.
      if (offset + written < bytes.length) return this.#writeAll(bytes, offset + written, done);
      done(null);
    });
  }

  #reopen(done: (err: Error | null) => void): void {
    const path = this.#path!;
    open(path, 'a', (err, fd) => {
      if (err !== null) return done(err);
      try {
        this.#remember(fd);
      } catch (statErr) {
        close(fd, () => {});
        return done(statErr as Error);
      }
      const old = this.#fd;
      this.#fd = fd;
      close(old, () => {});
      done(null);
    });
  }

  #remember(fd: number): void {
    const stats = fstatSync(fd);
    this.#ino = stats.ino;
    this.#dev = stats.dev;
  }
}
