/**
 * Authentication at the upgrade, before a session exists (docs/PROTOCOL.md §1). The token is read from the request
 * while uWS's handler runs (`req` is valid only then); what can be decided at once is answered at once (no token, a
 * token too long to be one, the worker's in-flight bound reached); anything else goes to the verifier, and the
 * response waits: `res.onAborted` marks a client that left meanwhile, and the verdict is written corked
 * (async-upgrade.ts) only if it did not. A refusal is an HTTP 401 or 503 whose JSON body names the code, counted by reason.
 */
import type uWS from 'uWebSockets.js';
import type { AuthRequest } from '../auth/auth-messages.ts';
import { AuthRefusals, AuthSlot } from '../core/counters.ts';
import type { ResolvedAuth } from '../core/options-auth.ts';
import { writeRefusal } from '../protocol/http-refusal.ts';
import { deny, denialCode, denialStatus, tokenLengthDenial, type AuthDenial, type AuthGrant } from '../auth/auth-verdict.ts';
import { findToken } from '../auth/token-source.ts';
import type { AuthClient } from './auth-client.ts';
import { completeLater, type Corkable } from './async-upgrade.ts';

/** Completes the upgrade (already inside a cork when the verdict came later); `grant` undefined: anonymous. */
export type AcceptUpgrade = (grant: AuthGrant | undefined) => void;

/** The headers an auth service asked for, read while `req` is valid (it is gone once uWS's handler returns). */
function headersOf(req: uWS.HttpRequest, names: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = req.getHeader(name);
    if (value !== '') headers[name] = value;
  }
  return headers;
}

export class UpgradeAuth {
  readonly #auth: ResolvedAuth;
  readonly #client: AuthClient;
  readonly #counters: Float64Array;
  /** An open session's socket, if the worker has one: what a late upgrade is corked inside (async-upgrade.ts). */
  readonly #anySession: () => Corkable | undefined;
  /** Responses waiting for their verdict; each can host another's late upgrade the same way. */
  readonly #waiting = new Set<uWS.HttpResponse>();

  constructor(auth: ResolvedAuth, client: AuthClient, counters: Float64Array, anySession: () => Corkable | undefined) {
    this.#auth = auth;
    this.#client = client;
    this.#counters = counters;
    this.#anySession = anySession;
  }

  /**
   * Runs inside uWS's upgrade handler, after the transport's own checks. `accept` completes the upgrade; `refused`
   * counts a refusal with the transport's other ones.
   */
  authenticate(res: uWS.HttpResponse, req: uWS.HttpRequest, client: { path: string; remoteAddress: string }, accept: AcceptUpgrade, refused: () => void): void {
    const found = findToken(req.getHeader('authorization'), req.getQuery('access_token'), req.getHeader('sec-websocket-protocol'));
    const early = this.#early(found);
    if (early === 'anonymous') return accept(undefined);
    if (early !== undefined) return this.#refuse(res, early, refused);
    const token = found ?? '';
    const service = this.#auth.service;
    const request: Omit<AuthRequest, 'id'> =
      service === null ? { token } : { token, headers: headersOf(req, service.headers), path: client.path, remoteAddress: client.remoteAddress };
    let aborted = false;
    this.#waiting.add(res);
    res.onAborted(() => {
      aborted = true;
      this.#waiting.delete(res);
      this.#counters[AuthSlot.ABORTED]++;
    });
    this.#client.verify(request, (verdict) => {
      if (aborted) return;
      this.#waiting.delete(res);
      if (!verdict.ok) return void res.cork(() => this.#refuse(res, verdict, refused));
      this.#counters[AuthSlot.ACCEPTED]++;
      // An allow with no user (an auth service's, or failOpen) is an anonymous session.
      completeLater(res, () => accept(verdict.userId === '' ? undefined : verdict), this.#otherSocket());
    });
  }

  /** Any socket but the one being upgraded: a session's, else another waiting handshake's. */
  #otherSocket(): Corkable | undefined {
    const session = this.#anySession();
    if (session !== undefined) return session;
    for (const other of this.#waiting) return other;
    return undefined;
  }

  /**
   * What is decided without the verifier: 'anonymous', a denial, or undefined (verify it). Without a token and
   * `auth.required` false, an auth service is still asked (it may go by headers); JWT mode opens an anonymous session.
   */
  #early(token: string | undefined): 'anonymous' | AuthDenial | undefined {
    if (token === undefined && this.#auth.required) return deny('missing', 'no token');
    if (token === undefined && this.#auth.service === null) return 'anonymous';
    if (token === undefined) return this.#pendingBound();
    // Cheap before the copy to another thread: empty, or too long to be a token (in bytes, as everywhere).
    return tokenLengthDenial(Buffer.byteLength(token)) ?? this.#pendingBound();
  }

  #pendingBound(): AuthDenial | undefined {
    return this.#client.pending >= this.#auth.maxPendingPerWorker ? deny('busy', 'too many handshakes in progress') : undefined;
  }

  #refuse(res: uWS.HttpResponse, denial: AuthDenial, refused: () => void): void {
    this.#counters[AuthSlot.REFUSED_BASE + AuthRefusals.indexOf(denial.refusal)]++;
    refused();
    writeRefusal(res, denialStatus(denial), denialCode(denial), denial.reason);
  }
}
