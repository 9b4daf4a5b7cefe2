/**
 * A session's sticky backends, in one structure: the stream actor bound under each binding key (a rule's identity,
 * route-table.ts `bindingKey`: stable across route tables, so a table change keeps the bindings whose endpoint is
 * still in their rule), and for each distinct actor whether any rule that bound it asks for NotifyConnect /
 * NotifyDisconnect. Two rules may share an endpoint, so the per-rule entries and the per-actor entries are kept in
 * step here and nowhere else. A session that has bound nothing shares one empty instance (Session.bindings), so an
 * instance is made only for a session that binds, and its maps with it.
 */
import type { StreamActor } from '../backend/stream-actor.ts';

export class SessionBindings {
  readonly #byKey = new Map<number, StreamActor>();
  /** Each bound actor, with its notify flag. */
  readonly #actors = new Map<StreamActor, boolean>();

  /** The actor bound under the binding key, if any. */
  get(key: number): StreamActor | undefined {
    return this.#byKey.get(key);
  }

  bind(key: number, actor: StreamActor, notify: boolean): void {
    this.#byKey.set(key, actor);
    this.#actors.set(actor, this.#actors.get(actor) === true || notify);
  }

  /** Forgets every binding to `actor` (it failed over); the session's next message binds afresh. */
  unbind(actor: StreamActor): void {
    const byKey = this.#byKey;
    for (const [key, bound] of byKey) if (bound === actor) byKey.delete(key);
    this.#actors.delete(actor);
  }

  /**
   * Forgets the binding under `key` (its endpoint left its rule). Returns the actor and its notify flag when no other
   * binding of the session uses it (the backend is then told the session left it), else undefined.
   */
  release(key: number): { actor: StreamActor; notify: boolean } | undefined {
    const byKey = this.#byKey;
    const actor = byKey.get(key);
    if (actor === undefined) return undefined;
    byKey.delete(key);
    for (const bound of byKey.values()) if (bound === actor) return undefined;
    const actors = this.#actors;
    const notify = actors.get(actor) === true;
    actors.delete(actor);
    return { actor, notify };
  }

  /** Each binding key and its actor. */
  keys(): IterableIterator<[number, StreamActor]> {
    return this.#byKey.entries();
  }

  /** Each distinct bound actor and whether it is notified of the session's end. */
  actors(): IterableIterator<[StreamActor, boolean]> {
    return this.#actors.entries();
  }
}
