/**
 * A session's sticky backends, in one structure: the stream actor bound under each route rule (by Route.index),
 * and for each distinct actor whether any rule that bound it asks for NotifyConnect/NotifyDisconnect. Two rules may
 * share an endpoint, so the per-rule slots and the per-actor entries are kept in step here and nowhere else.
 */
import type { StreamActor } from '../backend/stream-actor.ts';

export class SessionBindings {
  readonly #byRule: (StreamActor | undefined)[] = [];
  /** Each bound actor, with its notify flag. */
  readonly #actors = new Map<StreamActor, boolean>();

  /** The actor bound under the rule at `ruleIndex`, if any. */
  get(ruleIndex: number): StreamActor | undefined {
    return this.#byRule[ruleIndex];
  }

  bind(ruleIndex: number, actor: StreamActor, notify: boolean): void {
    this.#byRule[ruleIndex] = actor;
    this.#actors.set(actor, this.#actors.get(actor) === true || notify);
  }

  /** Forgets every binding to `actor` (it failed over); the session's next message binds afresh. */
  unbind(actor: StreamActor): void {
    const byRule = this.#byRule;
    for (let i = 0; i < byRule.length; i++) if (byRule[i] === actor) byRule[i] = undefined;
    this.#actors.delete(actor);
  }

  /** Each distinct bound actor and whether it is notified of the session's end. */
  actors(): IterableIterator<[StreamActor, boolean]> {
    return this.#actors.entries();
  }
}
