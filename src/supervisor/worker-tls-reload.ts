/**
 * The supervisor's side of a `listen.tls` reload: one 'reload-tls' command to each live worker, and the answers
 * gathered. Resolves with the workers that reloaded; rejects with the first worker's error (rebuilt from the wire,
 * so a ConfigError keeps its field). A worker that exits or stays silent past the deadline counts as failed:
 * its replacement starts with the files as they are now anyway.
 */
import { errorFromWire, ActorgateError } from '../core/errors.ts';
import type { WorkerEvent } from '../worker/worker-messages.ts';
import type { WorkerHandle } from './worker-handle.ts';

type Answer = Extract<WorkerEvent, { type: 'tls-reloaded' }>;

interface Pending {
  waiting: Set<number>;
  reloaded: number[];
  error: Error | undefined;
  finish(): void;
}

export class WorkerTlsReload {
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  /** Asks every live worker to reload; resolves with the indexes of those that did. */
  run(handles: readonly WorkerHandle[], timeoutMs: number): Promise<number[]> {
    const live = handles.filter((handle) => handle.live);
    const id = this.#nextId++;
    return new Promise<number[]>((resolve, reject) => {
      const pending: Pending = {
        waiting: new Set(live.map((handle) => handle.index)),
        reloaded: [],
        error: undefined,
        finish: () => {
          clearTimeout(timer);
          this.#pending.delete(id);
          if (pending.error !== undefined) reject(pending.error);
          else resolve(pending.reloaded.sort((a, b) => a - b));
        },
      };
      const timer = setTimeout(() => {
        pending.error ??= new ActorgateError('ERR_ACTORGATE_TLS_RELOAD', `worker ${[...pending.waiting].join(', ')} did not answer the TLS reload within ${timeoutMs} ms`);
        pending.finish();
      }, timeoutMs).unref();
      this.#pending.set(id, pending);
      if (live.length === 0) return pending.finish();
      for (const handle of live) handle.post({ type: 'reload-tls', id });
    });
  }

  /** A worker's answer. */
  onResult(worker: number, answer: Answer): void {
    const pending = this.#pending.get(answer.id);
    if (pending === undefined || !pending.waiting.delete(worker)) return;
    if (answer.error !== undefined) pending.error ??= errorFromWire(answer.error);
    else if (answer.reloaded) pending.reloaded.push(worker);
    if (pending.waiting.size === 0) pending.finish();
  }

  /** A worker's thread ended: it will not answer. */
  workerGone(worker: number): void {
    for (const pending of [...this.#pending.values()]) {
      if (!pending.waiting.delete(worker)) continue;
      pending.error ??= new ActorgateError('ERR_ACTORGATE_TLS_RELOAD', `worker ${worker} ended during the TLS reload`);
      if (pending.waiting.size === 0) pending.finish();
    }
  }
}
