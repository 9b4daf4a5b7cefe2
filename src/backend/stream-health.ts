/**
 * The health of one backend endpoint as one stream actor sees it: the circuit breaker, the outage clock that drives
 * failover, write-stall detection, and whether the current stream has shown the backend reads it.
 *
 * A completed write counts as a success only on a *proven* stream. After write stalls (a backend that stopped
 * reading), a fresh stream absorbs about one HTTP/2 window without being read, so it must first show the backend
 * reads: a batch received from it, or completed writes beyond two windows. After stream failures alone (a backend that
 * died and came back), a completed write is enough.
 */
import type { Logger } from '../core/logger.ts';
import type { BackendOptions } from '../core/options.ts';
import { EndpointSlot } from '../core/counters.ts';
import { CircuitBreaker, CircuitStates, type CircuitState } from './circuit-breaker.ts';

export interface HealthTick {
  /** Half-open and idle: write an empty batch as a probe. */
  probe: boolean;
  /** Unhealthy past failoverAfterMs (once per outage): release the sessions. */
  failover: boolean;
}

export class StreamHealth {
  readonly #circuit: CircuitBreaker;
  readonly #backend: Readonly<BackendOptions>;
  readonly #counters: Float64Array;
  #unhealthySince = 0;
  #failedOver = false;
  #proven = false;
  #bytes = 0;
  #stalledSinceClosed = false;
  #lastStallAt = 0;

  constructor(backend: Readonly<BackendOptions>, counters: Float64Array, logger: Logger) {
    this.#backend = backend;
    this.#counters = counters;
    this.#circuit = new CircuitBreaker({ threshold: backend.circuitFailureThreshold, openMs: backend.circuitOpenMs }, (state, failures) => {
      counters[EndpointSlot.CIRCUIT_STATE] = CircuitStates.indexOf(state);
      if (state === 'open') {
        counters[EndpointSlot.CIRCUIT_OPENED]++;
        this.#markUnhealthy(performance.now());
        logger.warn({ failures }, 'circuit open: failing fast');
      } else {
        counters[state === 'half-open' ? EndpointSlot.CIRCUIT_HALF_OPENED : EndpointSlot.CIRCUIT_CLOSED]++;
        logger.info(`circuit ${state}`);
      }
    });
  }

  get circuit(): CircuitState {
    return this.#circuit.state;
  }

  /** An outage is under way (stream down or circuit not closed since). */
  get unhealthy(): boolean {
    return this.#unhealthySince !== 0;
  }

  /** Whether the circuit admits traffic: closed, or half-open with the stream up. */
  admits(streamReady: boolean): boolean {
    if (this.#circuit.state === 'closed') return true;
    return this.#circuit.allows(performance.now()) && streamReady;
  }

  streamOpened(): void {
    this.#proven = !this.#stalledSinceClosed;
    this.#bytes = 0;
    // A reconnect with the circuit closed ends the outage; with it open, the half-open probe decides.
    if (this.#circuit.state === 'closed') this.#endOutage();
  }

  /** The backend sent a batch on the current stream: it reads it. */
  dataReceived(): void {
    this.#proven = true;
  }

  writeStarted(now: number): void {
    this.#lastStallAt = now;
  }

  writeCompleted(bytes: number): void {
    if (!this.#proven) {
      this.#bytes += bytes;
      if (this.#bytes > 2 * this.#backend.flowControlWindowBytes) this.#proven = true;
    }
    // While open, a completed write is old traffic draining: the outage lasts until a half-open success closes it.
    if (!this.#proven || !this.#circuit.recordSuccess()) return;
    this.#stalledSinceClosed = false;
    if (this.#unhealthySince !== 0) this.#endOutage();
  }

  streamFailed(now: number): void {
    this.#circuit.recordFailure(now);
    this.#markUnhealthy(now);
  }

  /** Periodic: counts write stalls, advances the circuit, and says whether to probe or fail over. */
  tick(now: number, writePending: boolean, idle: boolean): HealthTick {
    const admits = this.#circuit.allows(now); // also moves open → half-open when openMs has passed
    // A write still pending: each writeStallMs it stays pending is one failure.
    if (writePending && now - this.#lastStallAt >= this.#backend.writeStallMs) {
      this.#lastStallAt = now;
      this.#stalledSinceClosed = true;
      this.#proven = false;
      this.#counters[EndpointSlot.WRITE_STALLS]++;
      this.#circuit.recordFailure(now);
    }
    const failover = this.#unhealthySince !== 0 && !this.#failedOver && now - this.#unhealthySince >= this.#backend.failoverAfterMs;
    if (failover) this.#failedOver = true;
    return { probe: idle && admits && this.#circuit.state === 'half-open', failover };
  }

  #markUnhealthy(now: number): void {
    if (this.#unhealthySince === 0) this.#unhealthySince = now;
  }

  #endOutage(): void {
    this.#unhealthySince = 0;
    this.#failedOver = false;
  }
}
