/**
 * A worker's shard of sessions: by key (the id's tick, session-id.ts), and by bound user id (so a user push needs no
 * scan). Every id this worker issued carries its node id and worker index; a packet naming any other owner is not
 * looked up at all.
 */
import { ownerOf, ownerTag, sessionKey } from '../core/session-id.ts';
import type { Session } from './session.ts';

export class SessionShard {
  readonly #owner: number;
  readonly #byKey = new Map<number, Session>();
  readonly #byUser = new Map<string, Set<Session>>();

  constructor(nodeId: number, worker: number) {
    this.#owner = ownerTag(nodeId, worker);
  }

  get size(): number {
    return this.#byKey.size;
  }

  add(session: Session): void {
    this.#byKey.set(session.key, session);
  }

  /** The session whose id has the words (lo, hi), if this worker holds it. */
  get(lo: number, hi: number): Session | undefined {
    return ownerOf(lo, hi) === this.#owner ? this.#byKey.get(sessionKey(lo, hi)) : undefined;
  }

  /** The session with this key (from a stream actor, which only knows this worker's sessions). */
  byKey(key: number): Session | undefined {
    return this.#byKey.get(key);
  }

  remove(session: Session): void {
    this.#byKey.delete(session.key);
    if (session.userId !== undefined) this.#unindexUser(session);
  }

  /** Binds (or re-binds) a user id to a session. */
  bindUser(session: Session, userId: string): void {
    if (session.userId === userId) return;
    if (session.userId !== undefined) this.#unindexUser(session);
    session.userId = userId;
    let sessions = this.#byUser.get(userId);
    if (sessions === undefined) {
      sessions = new Set();
      this.#byUser.set(userId, sessions);
    }
    sessions.add(session);
  }

  sessionsOfUser(userId: string): ReadonlySet<Session> | undefined {
    return this.#byUser.get(userId);
  }

  values(): IterableIterator<Session> {
    return this.#byKey.values();
  }

  #unindexUser(session: Session): void {
    const sessions = this.#byUser.get(session.userId!);
    if (sessions === undefined) return;
    sessions.delete(session);
    if (sessions.size === 0) this.#byUser.delete(session.userId!);
  }
}
