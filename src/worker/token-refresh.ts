/**
 * REFRESH (docs/PROTOCOL.md §3): a client hands in a fresh token before its session's token expires. It is verified
 * like an upgrade's (off the loop, within the same in-flight bound); if it is valid and names the same user of the
 * same issuer (a `sub` is unique only within its `iss`), the session's deadline moves to the new `exp`. Otherwise the
 * session keeps its old deadline and is told why in the REFRESH_RESULT. One REFRESH per session is verified at a time.
 */
import { AuthSlot, RefreshOutcomes } from '../core/counters.ts';
import { leewaySecOf, type ResolvedAuth } from '../core/options-auth.ts';
import { encodeRefreshResult } from '../protocol/control.ts';
import { deny, denialCode, tokenLengthDenial, type AuthVerdict } from '../auth/auth-verdict.ts';
import type { AuthClient } from './auth-client.ts';
import type { ClientSender } from './client-sender.ts';
import type { Session } from './session.ts';
import { closesAtMs } from './session-auth.ts';
import type { SessionExpiry } from './session-expiry.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });
const OK = RefreshOutcomes.indexOf('ok');

export class TokenRefresh {
  readonly #auth: ResolvedAuth;
  readonly #client: AuthClient;
  readonly #expiry: SessionExpiry;
  readonly #sender: ClientSender;
  readonly #counters: Float64Array;

  constructor(auth: ResolvedAuth, client: AuthClient, expiry: SessionExpiry, sender: ClientSender, counters: Float64Array) {
    this.#auth = auth;
    this.#client = client;
    this.#expiry = expiry;
    this.#sender = sender;
    this.#counters = counters;
  }

  /** One REFRESH message; its body is the token. Every REFRESH gets exactly one REFRESH_RESULT. */
  handle(session: Session, body: Uint8Array): void {
    const auth = session.auth;
    if (auth === undefined) return this.#answer(session, deny('invalid', 'anonymous session'));
    const badLength = tokenLengthDenial(body.byteLength);
    if (badLength !== undefined) return this.#answer(session, badLength);
    let token: string;
    try {
      token = decoder.decode(body);
    } catch {
      return this.#answer(session, deny('invalid', 'token is not UTF-8'));
    }
    if (auth.refreshing || this.#client.pending >= this.#auth.maxPendingPerWorker) return this.#answer(session, deny('busy', 'a verification is in progress'));
    auth.refreshing = true;
    this.#client.verify({ token, refresh: true, userId: auth.userId, path: session.path, remoteAddress: session.remoteAddress }, (verdict) => {
      auth.refreshing = false;
      // Outside uWS's handlers nothing is corked for us: cork, so the result leaves in one write.
      if (!session.closed) session.ws.cork(() => this.#answer(session, verdict));
    });
  }

  #answer(session: Session, verdict: AuthVerdict): void {
    // Only a grant reads it, and an anonymous session is answered with a denial.
    const auth = session.auth!;
    // The same user is the same `sub` of the same `iss` (both absent for an auth service).
    if (verdict.ok && (verdict.userId !== auth.userId || verdict.issuer !== auth.issuer)) verdict = deny('invalid', 'token names another user');
    if (!verdict.ok) {
      this.#counters[AuthSlot.REFRESH_BASE + RefreshOutcomes.indexOf(verdict.refusal)]++;
      this.#sender.send(session, encodeRefreshResult(denialCode(verdict), 0));
      return;
    }
    const previous = auth.closesAt;
    auth.closesAt = closesAtMs(verdict.expiresAt, leewaySecOf(this.#auth));
    if (auth.closesAt !== previous) this.#expiry.schedule(session, previous !== 0);
    this.#counters[AuthSlot.REFRESH_BASE + OK]++;
    this.#sender.send(session, encodeRefreshResult(0, verdict.expiresAt));
  }
}
