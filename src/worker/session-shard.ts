/**
 * A worker's shard of sessions: by id, and by bound user id (so a user push needs no scan).
 */
import type { Session } from './session.ts';

export class SessionShard {
  readonly #byId = new Map<string, Session>();
  readonly #byUser = new Map<string, Set<Session>>();

  get size(): number {
    return this.#byId.size;
  }

  add(session: Session): void {
    this.#byId.set(session.id, session);
  }

  get(id: string): Session | undefined {
    return this.#byId.get(id);
  }

  remove(session: Session): void {
    this.#byId.delete(session.id);
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
    return this.#byId.values();
  }

  #unindexUser(session: Session): void {
    const sessions = this.#byUser.get(session.userId!);
    if (sessions === undefined) return;
    sessions.delete(session);
    if (sessions.size === 0) this.#byUser.delete(session.userId!);
  }
}
