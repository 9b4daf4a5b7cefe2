/**
 * Bounded, batched line output for one thread: lines are held and handed to a sink as one write per batch, on a
 * timer or as soon as a batch fills, with at most one write in flight. The bound counts every line not yet written
 * (held and in flight), so a destination slower than the lines come costs memory up to the bound and no more: past
 * it a line is dropped and counted, and the caller's loop never waits on the sink.
 */

/** Where batches go: one write of whole lines at a time (access-log-sink.ts). */
export interface BatchSink {
  /** Writes `text` (whole lines) and calls `done` once, when all of it is written or it failed. */
  write(text: string, done: (err: Error | null) => void): void;
  /** Writes `text` before returning: only for a thread about to end. */
  writeSync(text: string): void;
  /** Releases the destination once no write is in flight. */
  close(): void;
}

export interface LineBatcherOptions {
  /** Lines held and in flight together; past it lines are dropped. */
  maxLines: number;
  /** A batch is written as soon as this many lines wait (or fewer at the next tick). */
  batchLines: number;
  /** How often lines waiting are written when no batch filled. */
  flushIntervalMs: number;
}

export interface LineCounts {
  written(lines: number): void;
  dropped(lines: number): void;
  /** A write failed: its lines count as dropped; told once per failure. */
  failed?(err: Error): void;
}

export class LineBatcher {
  readonly #sink: BatchSink;
  readonly #options: Readonly<LineBatcherOptions>;
  readonly #counts: LineCounts;
  #waiting: string[] = [];
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** drain() callers, told when nothing is held or in flight. */
  #idle: (() => void)[] = [];
  readonly #onWritten = (err: Error | null) => this.#written(err);

  constructor(sink: BatchSink, options: Readonly<LineBatcherOptions>, counts: LineCounts) {
    this.#sink = sink;
    this.#options = options;
    this.#counts = counts;
    this.#timer = setInterval(() => this.#write(), options.flushIntervalMs).unref();
  }

  /** Lines held or being written. */
  get pending(): number {
    return this.#waiting.length + this.#inFlight;
  }

  /** Takes one line (without its newline); false when it was dropped: the bound is reached or the batcher closed. */
  push(line: string): boolean {
    if (this.#closed || this.#waiting.length + this.#inFlight >= this.#options.maxLines) {
      this.#counts.dropped(1);
      return false;
    }
    this.#waiting.push(line);
    if (this.#waiting.length >= this.#options.batchLines) this.#write();
    return true;
  }

  /** Resolves true once every line taken so far is written, false at `timeoutMs` with some still pending. */
  drain(timeoutMs: number): Promise<boolean> {
    this.#write();
    if (this.pending === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * Stops taking lines and writes those still waiting synchronously: for a thread about to end (a terminated thread
   * runs no callbacks). A write already in flight completes on its own. A failure drops and counts what was waiting.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    const lines = this.#waiting;
    this.#waiting = [];
    if (lines.length > 0) {
      try {
        this.#sink.writeSync(`${lines.join('\n')}\n`);
        this.#counts.written(lines.length);
      } catch (err) {
        this.#counts.dropped(lines.length);
        this.#counts.failed?.(err as Error);
      }
    }
    if (this.#inFlight === 0) this.#sink.close();
  }

  #write(): void {
    if (this.#inFlight > 0 || this.#waiting.length === 0) return;
    const lines = this.#waiting;
    this.#waiting = [];
    this.#inFlight = lines.length;
    this.#sink.write(`${lines.join('\n')}\n`, this.#onWritten);
  }

  #written(err: Error | null): void {
    const lines = this.#inFlight;
    this.#inFlight = 0;
    if (err === null) this.#counts.written(lines);
    else {
      this.#counts.dropped(lines);
      this.#counts.failed?.(err);
    }
    if (this.#closed) return this.#sink.close();
    // While someone drains, what waits goes at once rather than at the next tick.
    if (this.#waiting.length >= this.#options.batchLines || this.#idle.length > 0) this.#write();
    if (this.pending === 0 && this.#idle.length > 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }
}
