import { pino, type Logger, type LoggerOptions } from 'pino';
import type { LogOptions } from './options.ts';

export type { Logger } from 'pino';

/** Log lines this thread's destinations dropped because their buffer was full (see createLogger). */
let droppedLines = 0;
const destinations = new Set<{ flushSync(): void }>();
let exitHooked = false;

export function droppedLogLines(): number {
  return droppedLines;
}

/**
 * Writes out what this thread's loggers still buffer, synchronously: for a thread about to be ended from outside
 * (worker.terminate() runs no 'exit' handlers in the thread). Never on a hot path.
 */
export function flushLogsSync(): void {
  for (const destination of destinations) {
    try {
      destination.flushSync();
    } catch {
      // not open yet, or already closed: nothing to write
    }
  }
}

/**
 * One logger per thread. The destination is asynchronous (sonic-boom with a buffer) so a burst of connection logs
 * never blocks an actor's loop, and bounded (DESIGN invariant 3): while the destination cannot keep up (a stalled
 * stdout pipe, a slow disk), lines past `maxBufferBytes` are dropped, each counted here and passed to `onDrop` (a
 * worker counts it in its shared counters). Buffered lines are written once 4 KiB gathered, at least every second,
 * and on exit.
 *
 * `destination`: `stdout`, `stderr` or a file path, appended to; every thread opens the file itself (O_APPEND, one
 * write per flush, so lines from different threads do not interleave).
 */
export function createLogger(options: LogOptions, bindings: Record<string, unknown>, onDrop?: () => void): Logger {
  const config: LoggerOptions = { level: options.level, base: { pid: process.pid, ...bindings } };
  if (options.level === 'silent') return pino(config);
  const target = options.destination;
  const dest = target === 'stdout' ? 1 : target === 'stderr' ? 2 : target;
  const destination = pino.destination({
    dest,
    sync: false,
    minLength: 4096,
    maxLength: options.maxBufferBytes,
    periodicFlush: 1000,
    mkdir: typeof dest === 'string',
  });
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', flushLogsSync);
  }
  destinations.add(destination);
  destination.once('close', () => destinations.delete(destination));
  destination.on('drop', () => {
    droppedLines++;
    onDrop?.();
  });
  return pino(config, destination);
}
