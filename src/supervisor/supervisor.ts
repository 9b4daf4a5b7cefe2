/**
 * The supervisor (main thread): spawns one worker actor per configured worker, learns the shared port from the first,
 * restarts a worker that fails (with backoff), and paces drain and shutdown. Only this folder and workers/ touch
 * node:worker_threads.
 */
import type { Logger } from '../core/logger.ts';
import { Code } from '../protocol/codes.ts';
import { CLOSE_ABANDON_SLACK_MS, type ResolvedConfig } from '../core/options.ts';
import { runningFromSource } from '../core/paths.ts';
import { backoffCeilingMs } from '../core/backoff.ts';
import { WorkerHandle, type SpawnThread, type WorkerEntry, type WorkerState } from './worker-handle.ts';
import { createAdmissionBuffer } from '../core/admission-memory.ts';
import { AuthBroker } from './auth-broker.ts';
import { AuthPool } from './auth-pool.ts';
import { AuthServiceClient } from '../auth/auth-service-client.ts';
import type { Verifier } from '../auth/auth-messages.ts';
import type { ResolvedAuth } from '../core/options-auth.ts';
import type { LogOptions } from '../core/options.ts';
import type { PushWorkers } from '../push/push-router.ts';
import { WorkerTlsReload } from './worker-tls-reload.ts';
import { RouteControl } from '../control/route-control.ts';
import type { RouteSnapshot } from '../routing/route-snapshot.ts';
import { DrainSlot } from '../core/counters.ts';
import type { DrainSpread } from '../worker/drain-schedule.ts';
import { DrainPlan, NO_DRAIN, type DrainProgress, type DrainRequest } from './drain-plan.ts';

/** Where push results and worker exits go (the push router). */
export interface PushListener {
  onResult(worker: number, id: number, counts: Uint32Array): void;
  workerGone(worker: number): void;
}

/** A restarted worker that stays up this long resets its backoff. */
export const STABLE_AFTER_MS = 30_000;

function workerEntry(): WorkerEntry {
  if (!runningFromSource) return { script: new URL('../../workers/gateway.worker.js', import.meta.url) };
  // From sources the entry is a .ts file. Node 20 does not apply `--import tsx` to a worker's entry module, so a
  // two-line bootstrap registers tsx in the thread and then imports the entry.
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('../../workers/gateway.worker.ts', import.meta.url).href;
  return { script: `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });` };
}

/** The process's verifier: the JWT pool, or the auth service client (delegated authentication). */
function verifierOf(auth: ResolvedAuth, log: Readonly<LogOptions>, logger: Logger): Verifier {
  return auth.service === null ? new AuthPool(auth, log) : new AuthServiceClient(auth.service, logger);
}

export interface WorkerStatus {
  index: number;
  state: WorkerState;
  sessions: number;
  restarts: number;
}

export class Supervisor implements PushWorkers {
  readonly config: ResolvedConfig;
  readonly workers: readonly WorkerHandle[];
  #port = 0;
  readonly #logger: Logger;
  readonly #entry = workerEntry();
  #stopping = false;
  /** Set by drain(): its timeline and progress (drain-plan.ts). */
  #drainPlan: DrainPlan | undefined;
  /** Set once the DRAINs went out: a worker restarted from now on drains as soon as it listens. */
  #drain: { reconnectAfterMs: number; url: string; startAt: number; windowMs: number } | undefined;
  /**
   * Set by the gateway: starts its drain (registry, then close) as drain() does; how `POST /admin/drain` starts one.
   * `windowMs` overrides shutdown.drainWindowMs.
   */
  drainHandler: ((override: { windowMs?: number }) => void) | undefined;
  readonly #restartTimers = new Set<NodeJS.Timeout>();
  /** Set by the gateway once its push router exists. */
  pushListener: PushListener | undefined;
  /** With `auth`: the process's verifier (the JWT pool or the auth service client) and the workers' ports to it; none with `auth.verifyOn` 'worker'. */
  readonly auth: AuthBroker | undefined;
  readonly #tlsReload = new WorkerTlsReload();
  /** The route table in force and where it comes from (config, Redis, its cache; DNS answers). */
  readonly routes: RouteControl;

  /** @param spawnThread starts a worker's thread; tests pass an in-process stand-in */
  constructor(config: ResolvedConfig, logger: Logger, spawnThread?: SpawnThread) {
    this.config = config;
    this.#logger = logger;
    this.routes = new RouteControl(config, logger);
    // Dynamic tables get control.maxEndpoints slots up front: shared memory is never reallocated (endpoint-slots.ts).
    const endpoints = this.routes.capacity;
    // auth.verifyOn 'worker': each worker verifies on its own loop, so there is no pool and nothing to relay.
    const auth = config.auth === null || config.auth.verifyOn === 'worker' ? undefined : new AuthBroker(verifierOf(config.auth, config.log, logger));
    this.auth = auth;
    const connectAuth = auth === undefined ? undefined : () => auth.connect();
    const admission = createAdmissionBuffer(config.workers);
    this.workers = Array.from({ length: config.workers }, (_, i) => new WorkerHandle(i, endpoints, logger, spawnThread, connectAuth, admission));
  }

  /** The port every worker listens on (resolved when `listen.port` was 0). */
  get port(): number {
    return this.#port;
  }

  /** Starts the first worker (which resolves port 0), then the rest on that port. Rejects if any fails to start. */
  async start(): Promise<void> {
    const [first, ...rest] = this.workers;
    try {
      await this.routes.start();
      this.routes.onTable = (table, reused) => this.#sendRoutes(table, reused);
      this.#port = await this.#spawn(first!, this.config.listen.port);
      await Promise.all(rest.map((handle) => this.#spawn(handle, this.#port)));
    } catch (err) {
      await this.close(0);
      throw err;
    }
    this.#logger.info({ port: this.#port, workers: this.workers.length }, 'gateway listening');
  }

  status(): WorkerStatus[] {
    return this.workers.map((w) => ({ index: w.index, state: w.state, sessions: w.sessions, restarts: w.restarts }));
  }

  get ready(): boolean {
    return !this.#stopping && this.#drainPlan === undefined && this.workers.every((w) => w.state === 'running');
  }

  get sessions(): number {
    return this.workers.reduce((sum, w) => sum + w.sessions, 0);
  }

  /**
   * Starts the drain (drain-plan.ts): not ready at once; after the pre-drain delay every worker sends DRAIN (paced
   * over the window) and stops accepting. Resolves when no session is left or at the deadline. Idempotent: a second
   * call returns the first drain's promise.
   */
  drain(request: DrainRequest): Promise<void> {
    this.#drainPlan ??= new DrainPlan(request, {
      sessions: () => this.sessions,
      drainCloses: () => this.workers.reduce((sum, w) => sum + w.counters.worker[DrainSlot.CLOSES]!, 0),
      sendDrains: (startAt, windowMs) => {
        this.#drain = { reconnectAfterMs: request.reconnectAfterMs, url: request.url, startAt, windowMs };
        this.#logger.info({ sessions: this.sessions, windowMs }, 'draining');
        const counts = this.workers.map((w) => w.sessions);
        for (const handle of this.workers) this.#drainWorker(handle, counts);
      },
    });
    return this.#drainPlan.done;
  }

  /** The drain's state and progress; state 'none' before drain(). */
  drainProgress(): DrainProgress {
    return this.#drainPlan?.progress() ?? { ...NO_DRAIN, sessionsRemaining: this.sessions };
  }

  /** `counts` absent: a worker restarted during the drain spreads its sessions over what is left of the window. */
  #drainWorker(handle: WorkerHandle, counts?: number[]): void {
    const drain = this.#drain;
    if (drain === undefined || !handle.transition(['running'], 'draining')) return;
    const { reconnectAfterMs, url, startAt, windowMs } = drain;
    if (windowMs === 0) return handle.post({ type: 'drain', reconnectAfterMs, url });
    const fromMs = counts === undefined ? Math.min(windowMs, Math.max(0, Date.now() - startAt)) : 0;
    const spread: DrainSpread = { windowMs, fromMs, counts: counts ?? this.workers.map(() => 0) };
    handle.post({ type: 'drain', reconnectAfterMs, url, spread });
  }

  /** Closes every worker: sessions end with `code`, CLOSE packets flushed within `flushTimeoutMs`. */
  async close(flushTimeoutMs: number, code: number = Code.SHUTDOWN): Promise<void> {
    this.#stopping = true;
    this.#drainPlan?.closing();
    this.routes.close();
    for (const timer of this.#restartTimers) clearTimeout(timer);
    this.#restartTimers.clear();
    await Promise.all(this.workers.map((handle) => handle.close(flushTimeoutMs, flushTimeoutMs + CLOSE_ABANDON_SLACK_MS, code)));
    await this.auth?.close(flushTimeoutMs);
    this.#drainPlan?.closed();
  }

  get count(): number {
    return this.workers.length;
  }

  post(worker: number, id: number, items: Uint8Array): boolean {
    const handle = this.workers[worker];
    if (handle === undefined || !handle.live) return false;
    handle.post({ type: 'push', id, items }, [items.buffer as ArrayBuffer]);
    return true;
  }

  /**
   * With `listen.tls`: every live worker reads the certificate files again and serves new handshakes with them;
   * established connections keep theirs. Resolves with the workers that reloaded; rejects with the first error.
   */
  reloadTls(timeoutMs: number): Promise<number[]> {
    return this.#tlsReload.run(this.workers, timeoutMs);
  }

  /** Test rigs: arms a fault in one worker (needs config.faultInjection). */
  injectFault(index: number): void {
    this.workers[index]?.post({ type: 'inject-fault' });
  }

  /** A new route table to every worker with a thread (a starting one handles it before its first client). */
  #sendRoutes(table: RouteSnapshot, reusedSlots: readonly number[]): void {
    for (const handle of this.workers) {
      for (const slot of reusedSlots) handle.counters.endpoint(slot).fill(0);
      if (handle.state === 'starting' || handle.state === 'running' || handle.state === 'draining') handle.post({ type: 'routes', table });
    }
  }

  #spawn(handle: WorkerHandle, port: number): Promise<number> {
    return handle.spawn(this.#entry, this.config, port, {
      onUnexpectedExit: (failed, error) => this.#restartLater(failed, error),
      onExit: (ended) => {
        this.#tlsReload.workerGone(ended.index);
        this.pushListener?.workerGone(ended.index);
      },
      onTlsReloaded: (from, answer) => this.#tlsReload.onResult(from.index, answer),
      onPushResult: (from, id, counts) => this.pushListener?.onResult(from.index, id, counts),
    }, this.routes.snapshot);
  }

  #restartLater(handle: WorkerHandle, error: Error): void {
    if (this.#stopping) {
      handle.transition(['restarting'], 'stopped');
      return;
    }
    if (Date.now() - handle.startedAt > STABLE_AFTER_MS) handle.backoffAttempt = 0;
    const delay = backoffCeilingMs(handle.backoffAttempt, { ...this.config.restart, multiplier: 2 });
    handle.backoffAttempt++;
    handle.restarts++;
    this.#logger.error({ worker: handle.index, err: error.message, restartInMs: delay }, 'worker failed; restarting');
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer);
      if (this.#stopping) return;
      this.#spawn(handle, this.#port).then(
        () => {
          this.#logger.info({ worker: handle.index }, 'worker restarted');
          this.#drainWorker(handle);
        },
        (err: Error) => this.#restartLater(handle, err),
      );
    }, delay);
    this.#restartTimers.add(timer);
  }
}
