/**
 * The main thread's side of the worker actors' verification ports: each worker gets one end of a MessageChannel at
 * spawn (a restarted worker gets a new one) and posts AuthRequests on it; the broker hands them to the process's
 * verifier (the AuthPool for JWTs, or the auth service client) and posts each verdict back. For JWTs the main thread
 * only relays (no crypto, no parsing), so the one pool serves every worker and its bound holds for the whole process.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { AuthReply, AuthRequest, Verifier } from '../auth/auth-messages.ts';

export class AuthBroker {
  readonly verifier: Verifier;
  readonly #ports = new Set<MessagePort>();

  constructor(verifier: Verifier) {
    this.verifier = verifier;
  }

  /** A new port for a worker about to start (transfer it in the spawn); the broker serves the other end. */
  connect(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (request: AuthRequest) => {
      void this.verifier.verify(request).then((verdict) => {
        // A port whose worker has gone is closed: the late verdict goes nowhere, which is what it should do.
        if (this.#ports.has(port1)) port1.postMessage({ id: request.id, verdict } satisfies AuthReply);
      });
    });
    port1.on('close', () => this.#ports.delete(port1));
    // Serving a port must never keep the process alive on its own.
    port1.unref();
    this.#ports.add(port1);
    return port2;
  }

  /** Closes every port, then the verifier (running verifications get `timeoutMs`). Idempotent. */
  async close(timeoutMs: number): Promise<void> {
    for (const port of this.#ports) port.close();
    this.#ports.clear();
    await this.verifier.close(timeoutMs);
  }
}
