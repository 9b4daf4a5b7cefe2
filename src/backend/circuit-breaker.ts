/**
 * A per-endpoint circuit breaker: closed → open after `threshold` consecutive failures (stream failures, write
 * stalls); open fails fast for `openMs`, then half-open lets one probe through; the probe's success closes it, a
 * failure opens it again. State changes in one guarded place and are reported once each.
 */
export const CircuitStates = ['closed', 'open', 'half-open'] as const;
export type CircuitState = (typeof CircuitStates)[number];

export interface CircuitOptions {
  threshold: number;
  openMs: number;
}

export class CircuitBreaker {
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  readonly #options: CircuitOptions;
  readonly #onChange: (state: CircuitState, failures: number) => void;

  constructor(options: CircuitOptions, onChange: (state: CircuitState, failures: number) => void) {
    this.#options = options;
    this.#onChange = onChange;
  }

  get state(): CircuitState {
    return this.#state;
  }

  /** Whether traffic may be admitted now. Moves open → half-open once `openMs` has passed. */
  allows(now: number): boolean {
    if (this.#state === 'open' && now - this.#openedAt >= this.#options.openMs) this.#transition('half-open');
    return this.#state !== 'open';
  }

  /**
   * One failure. While open, failures are ignored: they are the same outage the circuit already acts on, and
   * counting them would postpone the half-open probe forever under a permanent stall.
   */
  recordFailure(now: number): void {
    if (this.#state === 'open') return;
    this.#failures++;
    if (this.#state === 'half-open' || this.#failures >= this.#options.threshold) {
      this.#openedAt = now;
      this.#transition('open');
    }
  }

  /** Cheap enough for every completed write: resets the consecutive-failure count, closes a non-closed circuit. */
  recordSuccess(): void {
    this.#failures = 0;
    if (this.#state !== 'closed') this.#transition('closed');
  }

  #transition(to: CircuitState): void {
    if (this.#state === to) return;
    this.#state = to;
    this.#onChange(to, this.#failures);
  }
}
