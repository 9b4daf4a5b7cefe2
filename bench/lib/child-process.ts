/**
 * Parent side of a benchmark child process: a TypeScript file run by `node --import tsx` with an IPC channel. The
 * child announces itself with one JSON line on stdout (see child-ipc.ts); after that the parent sends it requests
 * and, at the end, `stop`. Every child started here is killed when the parent exits, however it exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const live = new Set<ChildProcess>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  // The last word on every path (normal end, thrown error, process.exit): nothing outlives the benchmark.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** A request as it crosses the channel: `id` pairs it with its reply. */
export interface Request {
  type: string;
  [field: string]: unknown;
}

export interface ChildOptions {
  /** Extra node flags (e.g. `--cpu-prof`), before the file. @default [] */
  nodeArgs?: readonly string[];
  /** Added to the parent's environment. @default {} */
  env?: Record<string, string>;
  /** How long the child may take to print its ready line. @default 30000 */
  readyTimeoutMs?: number;
}

interface Reply {
  id: number;
  error?: string;
}

export class BenchChild<Ready> {
  readonly name: string;
  readonly pid: number;
  /** The child's first stdout line, parsed. Rejects if the child exits first or takes longer than the deadline. */
  readonly ready: Promise<Ready>;
  /** Resolves with the exit code (or the signal's name) once the child has ended. */
  readonly exited: Promise<number | string>;
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;
  #stopping: Promise<void> | undefined;

  constructor(name: string, file: string, args: readonly string[] = [], options: ChildOptions = {}) {
    hookExit();
    this.name = name;
    const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
    const env = options.env === undefined ? process.env : { ...process.env, ...options.env };
    this.#child = spawn(process.execPath, ['--import', 'tsx', ...(options.nodeArgs ?? []), file, ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env });
    if (this.#child.pid === undefined) throw new Error(`${name}: could not start ${file}`);
    this.pid = this.#child.pid;
    live.add(this.#child);
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        live.delete(this.#child);
        for (const [id, pending] of this.#waiting) {
          clearTimeout(pending.timer);
          pending.reject(new Error(`${name} exited (${code ?? signal}) before answering request ${id}`));
        }
        this.#waiting.clear();
        resolve(code ?? signal ?? 'unknown');
      });
    });
    this.#child.on('message', (message: Reply) => this.#onReply(message));
    const lines = createInterface({ input: this.#child.stdout! });
    this.ready = new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs);
      let first = true;
      lines.on('line', (line) => {
        if (!first) {
          process.stderr.write(`[${name}] ${line}\n`);
          return;
        }
        first = false;
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line) as Ready);
        } catch {
          reject(new Error(`${name}: expected a JSON line first, got ${JSON.stringify(line)}`));
        }
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code}) before it was ready`));
      });
    });
    this.ready.catch(() => {}); // the caller awaits it; this only keeps an early exit from being an unhandled rejection
  }

  /** Sends a request; resolves with the child's answer. */
  request<T>(message: Request, timeoutMs = 10_000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      if (!this.#child.connected) return reject(new Error(`${this.name}: not connected`));
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`${this.name}: no answer to ${message.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.#child.send({ ...message, id });
    });
  }

  /** Asks the child to stop; kills it if it has not ended within `deadlineMs`. Idempotent. */
  stop(deadlineMs = 5000): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
      if (this.#child.connected) this.#child.send({ type: 'stop', id: 0 });
      else this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), deadlineMs);
      await this.exited;
      clearTimeout(timer);
    })();
    return this.#stopping;
  }

  #onReply(message: Reply): void {
    const pending = this.#waiting.get(message.id);
    if (pending === undefined) return;
    this.#waiting.delete(message.id);
    clearTimeout(pending.timer);
    if (message.error !== undefined) pending.reject(new Error(`${this.name}: ${message.error}`));
    else pending.resolve(message);
  }
}
