/**
 * The stream actor's states and the one place they change. An illegal transition is refused and logged, never
 * silently applied (the grpc-js `transitionToState(from[], to)` habit).
 *
 *   idle ──start──▶ connecting ──channel ready──▶ ready ──stream ends/fails──▶ backoff ──timer──▶ connecting
 *     any live state ──close()──▶ closing ──flushed or deadline──▶ closed;  any ──destroy()──▶ closed
 */
import type { Logger } from '../core/logger.ts';

export const StreamStates = ['idle', 'connecting', 'ready', 'backoff', 'closing', 'closed'] as const;
export type StreamState = (typeof StreamStates)[number];

export class StreamStateMachine {
  #state: StreamState = 'idle';
  readonly #logger: Logger;
  readonly #onChange: (state: StreamState) => void;

  constructor(logger: Logger, onChange: (state: StreamState) => void) {
    this.#logger = logger;
    this.#onChange = onChange;
  }

  get state(): StreamState {
    return this.#state;
  }

  /** Moves to `to` when the current state is one of `from`; returns whether it did. */
  transition(from: readonly StreamState[], to: StreamState): boolean {
    if (!from.includes(this.#state)) {
      this.#logger.warn({ from: this.#state, to }, 'stream actor: refused illegal state transition');
      return false;
    }
    if (this.#state !== to) {
      this.#state = to;
      this.#onChange(to);
    }
    return true;
  }
}
