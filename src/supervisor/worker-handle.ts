/**
 * The supervisor's view of one worker slot: the current thread, its state, and the shared buffers that outlive any
 * one thread (counters, session-id clock). States change in one guarded place.
 *
 *   starting ──listening──▶ running ──drain──▶ draining ──close──▶ stopping ──closed/exit──▶ stopped
 *   starting|running|draining ──unexpected exit──▶ restarting ──timer──▶ starting
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import type { Logger } from '../core/logger.ts';
import { AuthSlot, createCounterBuffer, WorkerCounters, WorkerSlot } from '../core/counters.ts';
import { createIdClockState } from '../core/session-id.ts';
import { AdmissionMemory } from '../core/admission-memory.ts';
import { errorFromWire, WorkerFailedError } from '../core/errors.ts';
import type { ResolvedConfig } from '../core/options.ts';
import type { WorkerCommand, WorkerEvent, WorkerInit } from '../worker/worker-messages.ts';
import type { RouteSnapshot } from '../routing/route-snapshot.ts';

export type WorkerState = 'starting' | 'running' | 'draining' | 'stopping' | 'stopped' | 'restarting';

/** The thread's entry: a compiled module URL, or a bootstrap source evaluated in the thread. */
export interface WorkerEntry {
  script: URL | string;
}

/**
 * What a handle uses of its thread: a node:worker_threads Worker, or an in-process stand-in in tests (so the
 * supervisor's policies are tested without threads).
 */
export interface WorkerThread {
  on(event: 'message', listener: (event: WorkerEvent) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  once(event: 'exit', listener: (code: number) => void): unknown;
  postMessage(command: WorkerCommand, transfer?: ArrayBuffer[]): void;
  terminate(): Promise<number>;
  unref(): void;
}

/** Starts the thread for one slot. */
export type SpawnThread = (entry: WorkerEntry, init: WorkerInit, name: string) => WorkerThread;

export const spawnWorkerThread: SpawnThread = (entry, init, name) =>
  new Worker(entry.script, { workerData: init, transferList: init.authPort === undefined ? [] : [init.authPort as MessagePort], eval: typeof entry.script === 'string', name });

export interface WorkerHandleEvents {
  /** The thread ended while it should have been running. */
  onUnexpectedExit(handle: WorkerHandle, error: Error): void;
  /** The thread ended (for any reason). */
  onExit(handle: WorkerHandle): void;
  onPushResult(handle: WorkerHandle, id: number, counts: Uint32Array): void;
  /** The answer to a 'reload-tls' command. */
  onTlsReloaded?(handle: WorkerHandle, answer: Extract<WorkerEvent, { type: 'tls-reloaded' }>): void;
}

export class WorkerHandle {
  readonly index: number;
  readonly counterBuffer: SharedArrayBuffer;
  readonly counters: WorkerCounters;
  /** Created with the supervisor, once per process: its start time bounds every id this process issues (session-id.ts). */
  readonly idClock = createIdClockState();
  /** Restarts since the gateway started. */
  restarts = 0;
  /** Consecutive quick failures: the restart backoff exponent. */
  backoffAttempt = 0;
  startedAt = 0;
  #state: WorkerState = 'stopped';
  #worker: WorkerThread | undefined;
  #closed: Promise<void> | undefined;
  readonly #logger: Logger;
  readonly #spawnThread: SpawnThread;
  readonly #connectAuth: (() => MessagePort) | undefined;
  readonly #admission: { buffer: SharedArrayBuffer; memory: AdmissionMemory } | undefined;

  /**
   * @param connectAuth with `auth`: a fresh verifier port for each thread started (auth-broker.ts)
   * @param admission the process's shared connection counts (admission-memory.ts); this slot's part is zeroed
   *   whenever its thread ends, since that thread's sessions ended with it
   */
  constructor(index: number, endpoints: number, logger: Logger, spawnThread: SpawnThread = spawnWorkerThread, connectAuth?: () => MessagePort, admission?: SharedArrayBuffer) {
    this.index = index;
    this.#spawnThread = spawnThread;
    this.#connectAuth = connectAuth;
    if (admission !== undefined) this.#admission = { buffer: admission, memory: new AdmissionMemory(admission) };
    this.counterBuffer = createCounterBuffer(endpoints);
    this.counters = new WorkerCounters(this.counterBuffer);
    this.#logger = logger.child({ slot: index });
  }

  get state(): WorkerState {
    return this.#state;
  }

  /** The gauges a thread writes describe that thread: they read 0 from its end until its successor writes them. */
  #zeroGauges(): void {
    this.counters.worker[WorkerSlot.SESSIONS] = 0;
    this.counters.worker[AuthSlot.PENDING] = 0;
  }

  get sessions(): number {
    return this.#state === 'stopped' || this.#state === 'restarting' ? 0 : this.counters.worker[WorkerSlot.SESSIONS]!;
  }

  /** The one place state changes: refused (and logged) unless the current state is in `from`. */
  transition(from: readonly WorkerState[], to: WorkerState): boolean {
    if (!from.includes(this.#state)) {
      this.#logger.warn({ from: this.#state, to }, 'worker: refused illegal state transition');
      return false;
    }
    this.#state = to;
    return true;
  }

  /** Spawns the thread; resolves with the bound port once it listens, rejects if it fails first. */
  /** @param routes the route table in force (the supervisor's control plane); absent, the config file's */
  spawn(entry: WorkerEntry, config: ResolvedConfig, port: number, events: WorkerHandleEvents, routes?: RouteSnapshot): Promise<number> {
    this.transition(['stopped', 'restarting'], 'starting');
    this.#zeroGauges();
    this.#closed = undefined;
    const init: WorkerInit = { index: this.index, port, config, counters: this.counterBuffer, idClock: this.idClock };
    if (routes !== undefined) init.routes = routes;
    const authPort = this.#connectAuth?.();
    if (authPort !== undefined) init.authPort = authPort;
    if (this.#admission !== undefined) {
      this.#admission.memory.resetWorker(this.index);
      init.admission = this.#admission.buffer;
    }
    const worker = this.#spawnThread(entry, init, `actorgate-worker-${this.index}`);
    this.#worker = worker;
    this.startedAt = Date.now();
    return new Promise<number>((resolve, reject) => {
      let lastError: Error | undefined;
      worker.on('message', (event: WorkerEvent) => {
        switch (event.type) {
          case 'listening':
            if (this.transition(['starting'], 'running')) resolve(event.port);
            return;
          case 'fatal':
            lastError = errorFromWire(event.error);
            return;
          case 'closed':
            // Its app is closed: ending the thread is safe now (and only now).
            void worker.terminate();
            return;
          case 'push-result':
            events.onPushResult(this, event.id, event.counts);
            return;
          case 'tls-reloaded':
            events.onTlsReloaded?.(this, event);
            return;
        }
      });
      worker.on('error', (err) => {
        lastError = err;
      });
      worker.on('exit', (code) => {
        if (this.#worker !== worker) return;
        this.#worker = undefined;
        this.#admission?.memory.resetWorker(this.index);
        events.onExit(this);
        this.#zeroGauges();
        const error = new WorkerFailedError(this.index, lastError?.message ?? `exited with code ${code}`, { cause: lastError });
        if (this.#state === 'starting') {
          this.transition(['starting'], 'stopped');
          reject(error);
        } else if (this.#state === 'running' || this.#state === 'draining') {
          this.transition(['running', 'draining'], 'restarting');
          events.onUnexpectedExit(this, error);
        } else {
          this.transition(['stopping', 'stopped'], 'stopped');
        }
      });
    });
  }

  post(command: WorkerCommand, transfer?: ArrayBuffer[]): void {
    this.#worker?.postMessage(command, transfer);
  }

  /** Whether the thread takes commands (listening, possibly draining). */
  get live(): boolean {
    return this.#worker !== undefined && (this.#state === 'running' || this.#state === 'draining');
  }

  /**
   * Asks the worker to close (sessions, backend flush, app) and waits for the thread to end. The thread is only ever
   * terminated after it reported its app closed ('closed'): ending a thread whose uWS app is open aborts the whole
   * process. The worker's own watchdog closes its app by `flushTimeoutMs` + CLOSE_WATCHDOG_SLACK_MS; a worker still
   * silent at `deadlineMs` has a wedged event loop, and is abandoned instead of terminated: close() resolves, the
   * thread is unref'd and logged, and it ends when it recovers (or with the process). Idempotent.
   */
  close(flushTimeoutMs: number, deadlineMs: number, code: number): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      const worker = this.#worker;
      const state = this.#state;
      if (state === 'restarting') this.transition(['restarting'], 'stopped');
      if (worker === undefined || state === 'stopped' || state === 'restarting') return resolve();
      this.transition(['starting', 'running', 'draining'], 'stopping');
      const timer = setTimeout(() => {
        this.#logger.error({ worker: this.index, deadlineMs }, 'worker did not report its app closed by the deadline; leaving the thread running rather than terminating it (that would abort the process)');
        worker.unref();
        this.transition(['stopping'], 'stopped');
        resolve();
      }, deadlineMs);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      worker.postMessage({ type: 'close', flushTimeoutMs, code } satisfies WorkerCommand);
    });
    return this.#closed;
  }
}
