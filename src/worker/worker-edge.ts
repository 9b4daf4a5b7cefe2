/**
 * A worker's edge protection, in one place: who may connect (UpgradeGuard: request form, client address, the
 * process's connection counts and upgrade rates, handshake deadlines; with `auth`, UpgradeAuth and the AuthClient
 * port to the verifier; with `limits.maxConnectionsPerUser`, UserConnections in Redis) and how fast a session may
 * send (SessionRates). The worker actor asks it what a session's open and close change, and tears it down with itself.
 */
import type { Logger } from '../core/logger.ts';
import type { ResolvedConfig } from '../core/options.ts';
import { leewaySecOf } from '../core/options-auth.ts';
import { encodeAttributes } from '../backend/packet-codec.ts';
import type { AuthGrant } from '../auth/auth-verdict.ts';
import type { Corkable } from './async-upgrade.ts';
import { AuthClient } from './auth-client.ts';
import type { ClientSender } from './client-sender.ts';
import { InThreadVerifier } from './in-thread-verifier.ts';
import type { Session } from './session.ts';
import { SessionAuth } from './session-auth.ts';
import { SessionExpiry } from './session-expiry.ts';
import { SessionRates } from './session-rates.ts';
import { TokenRefresh } from './token-refresh.ts';
import { UpgradeAuth } from './upgrade-auth.ts';
import { UpgradeGuard } from './upgrade-guard.ts';
import { UserConnections } from './user-connections.ts';
import type { WorkerInit } from './worker-messages.ts';

export class WorkerEdge {
  readonly guard: UpgradeGuard;
  /** Message rates (the session's, its user's, its route's); undefined when none is on. */
  readonly rates: SessionRates | undefined;
  /** With `auth`: the upgrade's token check and REFRESH. */
  readonly upgradeAuth: UpgradeAuth | undefined;
  readonly refresh: TokenRefresh | undefined;
  readonly #auth: { client: AuthClient; expiry: SessionExpiry; leewaySec: number } | undefined;
  readonly #config: ResolvedConfig;
  readonly #index: number;
  readonly #counters: Float64Array;
  readonly #logger: Logger;
  readonly #anySession: () => Corkable | undefined;
  /** With `limits.maxConnectionsPerUser`: made at start (it opens a Redis connection). */
  #users: UserConnections | undefined;

  /**
   * @param admission the process's shared admission memory (admission-memory.ts)
   * @param anySession an open session's socket, if the worker has one: what a late upgrade is corked inside
   */
  constructor(init: WorkerInit, admission: SharedArrayBuffer, counters: Float64Array, sender: ClientSender, logger: Logger, anySession: () => Corkable | undefined) {
    const config = init.config;
    this.#config = config;
    this.#index = init.index;
    this.#counters = counters;
    this.#logger = logger;
    this.#anySession = anySession;
    this.guard = new UpgradeGuard(config, admission, init.index, counters);
    this.rates = SessionRates.create(config, admission, counters, sender);
    // auth.verifyOn 'worker' verifies here, on this loop (for measurement); otherwise through the supervisor's port.
    const port = config.auth?.verifyOn === 'worker' ? new InThreadVerifier(config.auth.jwt!) : init.authPort;
    if (config.auth !== null && port !== undefined) {
      const client = new AuthClient(port, config.auth.timeoutMs, counters);
      const expiry = new SessionExpiry(counters);
      this.#auth = { client, expiry, leewaySec: leewaySecOf(config.auth) };
      this.upgradeAuth = new UpgradeAuth(config.auth, client, counters, anySession);
      this.refresh = new TokenRefresh(config.auth, client, expiry, sender, counters);
    }
  }

  /** With `limits.maxConnectionsPerUser`: the users' connections, counted in Redis at the upgrade. */
  get users(): UserConnections | undefined {
    return this.#users;
  }

  start(): void {
    this.#users = UserConnections.create(this.#config, this.#index, this.#counters, this.#logger, this.#anySession);
  }

  /**
   * A session opened: it counts against its address, gets its rate buckets, and what the upgrade's token granted
   * becomes its own before anything else can happen to it: the user (bound with `bindUser`, so user pushes and
   * `hashBy: "user"` need no backend BIND_USER), the attributes (encoded once for every OPEN), the token's expiry.
   */
  opened(session: Session, grant: AuthGrant | undefined, now: number, bindUser: (session: Session, userId: string) => void): void {
    this.guard.opened(session.remoteAddress);
    this.rates?.open(session, now);
    if (grant === undefined) return;
    const auth = this.#auth!;
    session.auth = new SessionAuth(grant, auth.leewaySec);
    if (Object.keys(grant.attributes).length > 0) {
      session.attributes = grant.attributes;
      session.attributesWire = encodeAttributes(grant.attributes);
    }
    bindUser(session, grant.userId);
    auth.expiry.schedule(session, false);
  }

  /** A session ended: its token deadline, its address's place and its user's place are given back. */
  released(session: Session): void {
    this.#auth?.expiry.released(session);
    this.guard.closed(session.remoteAddress);
    this.#users?.released(session);
  }

  /** Gives this worker's user places back in Redis (closing, not aborting). */
  close(): Promise<void> {
    return this.#users?.close() ?? Promise.resolve();
  }

  /** Synchronous teardown (also the fatal path): timers stopped, pending verifications answered, Redis dropped. */
  stop(): void {
    this.guard.stop();
    this.#auth?.expiry.stop();
    this.#auth?.client.close();
    this.#users?.destroy();
  }
}
