/**
 * A worker actor's end of its verification port (auth-broker.ts on the main thread): posts one request per token and
 * calls back once with the verdict. Every request is answered: by the verifier, or `unavailable` once
 * `auth.timeoutMs` has passed (one unref'd sweep timer while anything is pending, not a timer per request), or when
 * the client closes. Its pending count is what bounds the handshakes a worker has in progress.
 */
import { AuthSlot } from '../core/counters.ts';
import type { AuthReply, AuthRequest } from '../auth/auth-messages.ts';
import { deny, type AuthVerdict } from '../auth/auth-verdict.ts';

/** What the client needs of a MessagePort (a real one between threads; tests may pass an in-process channel). */
export interface VerifierPort {
  postMessage(request: AuthRequest): void;
  on(event: 'message', listener: (reply: AuthReply) => void): unknown;
  close(): void;
}

export type VerdictCallback = (verdict: AuthVerdict) => void;

interface Pending {
  readonly done: VerdictCallback;
  readonly deadline: number;
}

export class AuthClient {
  readonly #port: VerifierPort;
  readonly #timeoutMs: number;
  readonly #counters: Float64Array;
  /** In posting order, so deadlines are in order too and a sweep stops at the first that has not passed. */
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(port: VerifierPort, timeoutMs: number, counters: Float64Array) {
    this.#port = port;
    this.#timeoutMs = timeoutMs;
    this.#counters = counters;
    port.on('message', (reply) => this.#settle(reply.id, reply.verdict));
  }

  /** Verifications posted and not yet answered. */
  get pending(): number {
    return this.#pending.size;
  }

  verify(request: Omit<AuthRequest, 'id'>, done: VerdictCallback): void {
    if (this.#closed) return done(deny('unavailable', 'gateway closing'));
    const id = this.#nextId++;
    this.#pending.set(id, { done, deadline: performance.now() + this.#timeoutMs });
    this.#counters[AuthSlot.PENDING] = this.#pending.size;
    this.#port.postMessage({ ...request, id });
    this.#timer ??= setTimeout(() => this.#sweep(), this.#sweepDelay()).unref();
  }

  /** Answers everything pending with `unavailable` and closes the port. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#counters[AuthSlot.PENDING] = 0;
    for (const { done } of pending) done(deny('unavailable', 'gateway closing'));
    this.#port.close();
  }

  #settle(id: number, verdict: AuthVerdict): void {
    const pending = this.#pending.get(id);
    // Answered already (timed out): the late verdict is dropped.
    if (pending === undefined) return;
    this.#pending.delete(id);
    this.#counters[AuthSlot.PENDING] = this.#pending.size;
    pending.done(verdict);
  }

  /** Often enough that a timeout is late by at most a quarter of itself. */
  #sweepDelay(): number {
    return Math.max(10, Math.min(1000, this.#timeoutMs / 4));
  }

  #sweep(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (const [id, { deadline }] of this.#pending) {
      if (deadline > now) break;
      this.#settle(id, deny('unavailable', `no verdict within ${this.#timeoutMs} ms`));
    }
    if (this.#pending.size > 0 && !this.#closed) this.#timer = setTimeout(() => this.#sweep(), this.#sweepDelay()).unref();
  }
}
