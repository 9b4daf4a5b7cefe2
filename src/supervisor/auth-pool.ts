/**
 * The process's verification pool: piscina threads running workers/auth.task.ts, one JwtVerifier each. Signature
 * checks and JWKS fetches run there, never on a worker actor's loop. The queue is bounded (`auth.poolMaxQueue`
 * beyond the tasks running): past it a verification is answered `busy` at once, so a reconnect storm is refused with
 * 503 instead of growing memory. A pool that fails (a thread that dies, a task that throws) answers `unavailable`.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { LogOptions } from '../core/options.ts';
import type { ResolvedAuth } from '../core/options-auth.ts';
import { runningFromSource } from '../core/paths.ts';
import { AuthPoolSlot, POOL_SLOTS, type AuthPoolData, type AuthRequest, type Verifier } from '../auth/auth-messages.ts';
import { deny, type AuthVerdict } from '../auth/auth-verdict.ts';


/**
 * Verifications one thread runs at once. A check awaits WebCrypto (jose) and sometimes a JWKS fetch, so a thread
 * that took one at a time would idle through those waits.
 */
export const TASKS_PER_THREAD = 8;

/**
 * The task module. Piscina's thread entry is its own plain-JS file, which then imports this one; from sources the
 * thread has the tsx hooks it inherits through process.execArgv by then (a Worker's own entry module does not get
 * them: see supervisor.ts), so the .ts file loads as it is.
 */
function taskFile(): string {
  return fileURLToPath(new URL(runningFromSource ? '../../workers/auth.task.ts' : '../../workers/auth.task.js', import.meta.url));
}

/** piscina's refusals when its queue is full (it has no error codes). */
const QUEUE_FULL = new Set(['Task queue is at limit', 'No task queue available and all Workers are busy']);

export class AuthPool implements Verifier {
  /** AuthPoolSlot counters. */
  readonly counters: Int32Array;
  readonly #pool: Piscina<AuthRequest, AuthVerdict>;
  #closed: Promise<void> | undefined;

  constructor(auth: ResolvedAuth, log: Readonly<LogOptions>) {
    const buffer = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * POOL_SLOTS);
    this.counters = new Int32Array(buffer);
    if (auth.jwt === null) throw new TypeError('the verification pool verifies JWTs: auth.jwt is required');
    const workerData: AuthPoolData = { jwt: auth.jwt, log, counters: buffer };
    this.#pool = new Piscina({
      filename: taskFile(),
      name: 'default',
      // Fixed size, never idled out: each thread holds its keys and JWKS caches for the pool's life.
      minThreads: auth.poolThreads,
      maxThreads: auth.poolThreads,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: TASKS_PER_THREAD,
      maxQueue: auth.poolMaxQueue,
      // Message-driven threads: 'sync' atomics would block a thread's loop between tasks, and with it JWKS timers.
      atomics: 'disabled',
      workerData,
    });
    // A thread that fails is replaced by piscina; its tasks are answered `unavailable` below.
    this.#pool.on('error', () => Atomics.add(this.counters, AuthPoolSlot.TASK_FAILED, 1));
  }

  /** Verifications waiting for a thread. */
  get queued(): number {
    return this.#pool.queueSize;
  }

  /** Verifies one token; never rejects. */
  verify(request: AuthRequest): Promise<AuthVerdict> {
    if (this.#closed !== undefined) return Promise.resolve(deny('unavailable', 'gateway closing'));
    return this.#pool.run(request).catch((err: Error) => {
      if (QUEUE_FULL.has(err.message)) return deny('busy', 'verification queue full');
      Atomics.add(this.counters, AuthPoolSlot.TASK_FAILED, 1);
      return deny('unavailable', 'verification failed');
    });
  }

  /** Lets running verifications finish within `timeoutMs`, then ends the threads. Idempotent. */
  close(timeoutMs: number): Promise<void> {
    this.#closed ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs).unref();
      });
      await Promise.race([this.#pool.close(), deadline]);
      clearTimeout(timer);
      await this.#pool.destroy();
    })();
    return this.#closed;
  }
}
