/**
 * A per-endpoint circuit breaker: closed → open after `threshold` consecutive failures (stream failures, write
 * stalls); open fails fast for `openMs`, then half-open lets one probe through; the probe's success closes it, a
 * failure opens it again. It closes only from half-open: writes queued before it opened keep completing while it is
 * open, and letting those close it would end the fail-fast period early on the strength of old traffic. State
 * changes in one guarded place and are reported once each.
 *
 *   closed ──threshold failures──▶ open ──openMs──▶ half-open ──success──▶ closed
 *                                   ▲                   │
 *                                   └─────failure───────┘
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
    if (this.#state === 'open' && now - this.#openedAt >= this.#options.openMs) this.#transition(['open'], 'half-open');
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
      this.#transition(['closed', 'half-open'], 'open');
    }
  }

  /**
   * One success (cheap enough for every completed write). Closed: resets the consecutive-failure count. Half-open:
   * the probe got through, so it closes. Open: ignored (see the file comment). Returns whether the circuit is closed.
   */
  recordSuccess(): boolean {
    if (this.#state === 'open') return false;
    this.#failures = 0;
    this.#transition(['half-open'], 'closed');
    return true;
  }

  /** The one place the state changes: only from one of `from`, and each change is reported once. */
  #transition(from: readonly CircuitState[], to: CircuitState): void {
    if (this.#state === to || !from.includes(this.#state)) return;
    this.#state = to;
    this.#onChange(to, this.#failures);
  }
}
