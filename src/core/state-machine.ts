/**
 * An actor's lifecycle state and the one place it changes (the grpc-js `transitionToState(from[], to)` habit): a
 * change from a state not in `from` is refused and logged, never silently applied, and every change runs the owner's
 * entry action, so what a state implies (timers cleared, streams dropped, gauges reset) is written once.
 */
import type { Logger } from './logger.ts';

export class StateMachine<S extends string> {
  #state: S;
  readonly #name: string;
  readonly #logger: Logger;
  readonly #onEnter: (to: S, from: S) => void;

  /**
   * @param name what the machine belongs to, for the refusal's log line
   * @param onEnter the entry action, run after each change (not for a transition to the current state)
   */
  constructor(name: string, initial: S, logger: Logger, onEnter: (to: S, from: S) => void) {
    this.#name = name;
    this.#state = initial;
    this.#logger = logger;
    this.#onEnter = onEnter;
  }

  get state(): S {
    return this.#state;
  }

  /** Moves to `to` when the current state is one of `from`, then runs the entry action; returns whether it did. */
  transition(from: readonly S[], to: S): boolean {
    const current = this.#state;
    if (!from.includes(current)) {
      this.#logger.warn({ from: current, to }, `${this.#name}: refused illegal state transition`);
      return false;
    }
    if (current === to) return true;
    this.#state = to;
    this.#onEnter(to, current);
    return true;
  }
}
