/**
 * `auth.verifyOn: 'worker'`: a VerifierPort that verifies on the worker's own loop, with the JwtVerifier the pool's
 * threads run (workers/auth.task.ts), instead of posting to the process's pool. It exists to measure what the pool
 * buys (bench/auth): every check here holds up every session of the worker while its JavaScript runs. Replies are
 * asynchronous, as a port's are, so the AuthClient above it cannot tell the two apart.
 */
import type { AuthReply, AuthRequest } from '../auth/auth-messages.ts';
import { JwtVerifier } from '../auth/jwt-verifier.ts';
import type { JwksEvent } from '../auth/jwks-cache.ts';
import type { ResolvedJwt } from '../core/options-auth.ts';
import type { VerifierPort } from './auth-client.ts';

export class InThreadVerifier implements VerifierPort {
  readonly #verifier: JwtVerifier;
  #listener: ((reply: AuthReply) => void) | undefined;
  #closed = false;

  constructor(jwt: ResolvedJwt, onJwksEvent?: (event: JwksEvent) => void) {
    this.#verifier = new JwtVerifier(jwt, onJwksEvent);
    this.#verifier.start();
  }

  postMessage(request: AuthRequest): void {
    void this.#verifier.verify(request.token).then((verdict) => {
      if (!this.#closed) this.#listener?.({ id: request.id, verdict });
    });
  }

  on(_event: 'message', listener: (reply: AuthReply) => void): this {
    this.#listener = listener;
    return this;
  }

  /** Stops the JWKS refreshes; verdicts still running are dropped (the AuthClient has answered them). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#verifier.close();
  }
}
