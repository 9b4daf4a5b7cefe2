import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Logging options: `level` as pino's; `destination` 1 (stdout) or 2 (stderr). */
export interface LogOptions {
  /** @default 'info' */
  level: string;
}

/**
 * One logger per thread. The destination is asynchronous (sonic-boom with a buffer) so a burst of connection
 * logs never blocks an actor's loop; the buffer is flushed on exit.
 */
export function createLogger(options: LogOptions, bindings: Record<string, unknown>): Logger {
  const config: LoggerOptions = { level: options.level, base: { pid: process.pid, ...bindings } };
  if (options.level === 'silent') return pino(config);
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const logger = pino(config, destination);
  process.once('exit', () => {
    try {
      destination.flushSync();
    } catch {
      // the stream may already be closed; nothing left to do at exit
    }
  });
  return logger;
}
