/**
 * REFRESH (docs/PROTOCOL.md §3): a client hands in a fresh token before its session's token expires. It is verified
 * like an upgrade's (off the loop, within the same in-flight bound); if it is valid and names the same user, the
 * session's deadline moves to the new `exp`. Otherwise the session keeps its old deadline and is told why in the
 * REFRESH_RESULT. One REFRESH per session is verified at a time.
 */
import { AuthSlot, RefreshOutcomes } from '../core/counters.ts';
import { leewaySecOf, type ResolvedAuth } from '../core/options-auth.ts';
import { encodeRefreshResult } from '../protocol/control.ts';
import { deny, denialCode, MAX_TOKEN_BYTES, type AuthVerdict } from '../auth/auth-verdict.ts';
import type { AuthClient } from './auth-client.ts';
import type { ClientSender } from './client-sender.ts';
import type { Session } from './session.ts';
import { closesAtMs } from './session-auth.ts';
import type { SessionExpiry } from './session-expiry.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });

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
    if (body.byteLength === 0 || body.byteLength > MAX_TOKEN_BYTES) return this.#answer(session, deny('invalid', 'bad token length'));
    let token: string;
    try {
      token = decoder.decode(body);
    } catch {
      return this.#answer(session, deny('invalid', 'token is not UTF-8'));
    }
    if (auth.refreshing || this.#client.pending >= this.#auth.maxPendingPerWorker) return this.#answer(session, deny('busy', 'a verification is in progress'));
    auth.refreshing = true;
    this.#client.verify({ token, refresh: true, path: session.path, remoteAddress: session.remoteAddress }, (verdict) => {
      auth.refreshing = false;
      if (!session.closed) this.#answer(session, verdict);
    });
  }

  #answer(session: Session, verdict: AuthVerdict): void {
    if (verdict.ok && verdict.userId !== session.auth!.userId) verdict = deny('invalid', 'token names another user');
    if (!verdict.ok) {
      this.#counters[AuthSlot.REFRESH_BASE + RefreshOutcomes.indexOf(verdict.refusal)]++;
      this.#sender.send(session, encodeRefreshResult(denialCode(verdict), 0));
      return;
    }
    const auth = session.auth!;
    const previous = auth.closesAt;
    auth.closesAt = closesAtMs(verdict.expiresAt, leewaySecOf(this.#auth));
    if (auth.closesAt !== previous) this.#expiry.schedule(session, previous !== 0);
    this.#counters[AuthSlot.REFRESH_BASE]++;
    this.#sender.send(session, encodeRefreshResult(0, verdict.expiresAt));
  }
}
