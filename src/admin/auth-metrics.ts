/**
 * The authentication metrics, registered only when `auth` is configured. Like the rest, read at scrape time: the
 * workers' shared counters (core/counters.ts AuthSlot), and the verification pool's (auth-messages.ts AuthPoolSlot) or
 * the auth service client's, whichever the process uses.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { AuthRefusals, AuthSlot, RefreshOutcomes } from '../core/counters.ts';
import { AuthPoolSlot } from '../auth/auth-messages.ts';
import { AuthServiceClient } from '../auth/auth-service-client.ts';
import { CircuitStates } from '../backend/circuit-breaker.ts';
import type { AuthBroker } from '../supervisor/auth-broker.ts';
import { AuthPool } from '../supervisor/auth-pool.ts';
import type { WorkerHandle } from '../supervisor/worker-handle.ts';

/** One per-worker series read from a counter slot: metrics.ts's own helper, so both files read slots one way. */
export type PerWorker = (kind: 'counter' | 'gauge', name: string, help: string, slot: number) => void;

/** `auth` undefined: the workers verify on their own loops (`auth.verifyOn` 'worker'), so only their series exist. */
export function registerAuthMetrics(registry: Registry, handles: readonly WorkerHandle[], auth: AuthBroker | undefined, perWorker: PerWorker): void {
  const byLabel = (name: string, help: string, label: string, values: readonly string[], base: number) =>
    new Counter({
      name,
      help,
      labelNames: ['worker', label],
      registers: [registry],
      collect() {
        this.reset();
        for (const h of handles) values.forEach((value, i) => this.inc({ worker: h.index, [label]: value }, h.counters.worker[base + i]!));
      },
    });

  perWorker('counter', 'actorgate_auth_accepted_total', 'Upgrades whose token verified.', AuthSlot.ACCEPTED);
  perWorker('gauge', 'actorgate_auth_pending', 'Verifications in flight (upgrades and REFRESH), bounded by auth.maxPendingPerWorker.', AuthSlot.PENDING);
  perWorker('counter', 'actorgate_auth_aborted_total', 'Upgrades whose client left while its token was being verified.', AuthSlot.ABORTED);
  perWorker('counter', 'actorgate_auth_expired_closes_total', 'Sessions closed with TOKEN_EXPIRED at their token\'s exp (plus leeway).', AuthSlot.EXPIRED_CLOSES);
  byLabel('actorgate_auth_refused_total', 'Upgrades refused for authentication, by reason.', 'reason', AuthRefusals, AuthSlot.REFUSED_BASE);
  byLabel('actorgate_auth_refresh_total', 'REFRESH control messages, by outcome (ok, or the refusal reason).', 'outcome', RefreshOutcomes, AuthSlot.REFRESH_BASE);

  if (auth?.verifier instanceof AuthPool) registerPoolMetrics(registry, auth.verifier);
  if (auth?.verifier instanceof AuthServiceClient) registerServiceMetrics(registry, auth.verifier);
}

function registerPoolMetrics(registry: Registry, pool: AuthPool): void {
  const counters = pool.counters;
  const jwks = [['ok', AuthPoolSlot.JWKS_FETCHED], ['failed', AuthPoolSlot.JWKS_FAILED]] as const;
  new Counter({
    name: 'actorgate_auth_jwks_fetches_total',
    help: 'JWKS documents fetched by the verification threads (each thread fetches its own), by outcome.',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [outcome, slot] of jwks) this.inc({ outcome }, Atomics.load(counters, slot));
    },
  });
  new Counter({
    name: 'actorgate_auth_pool_failures_total',
    help: 'Verifications the pool could not run (a thread failed): answered AUTH_UNAVAILABLE.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(Atomics.load(counters, AuthPoolSlot.TASK_FAILED));
    },
  });
  new Gauge({
    name: 'actorgate_auth_pool_queued',
    help: 'Verifications waiting for a pool thread, bounded by auth.poolMaxQueue.',
    registers: [registry],
    collect() {
      this.set(pool.queued);
    },
  });
}

function registerServiceMetrics(registry: Registry, service: AuthServiceClient): void {
  const { stats } = service;
  new Counter({
    name: 'actorgate_auth_service_calls_total',
    help: 'Authenticate calls to the auth service, by outcome (failed: an error, the deadline, or an answer out of bounds).',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'allowed' }, stats.allowed);
      this.inc({ outcome: 'denied' }, stats.denied);
      this.inc({ outcome: 'failed' }, stats.failed);
    },
  });
  new Counter({
    name: 'actorgate_auth_service_fast_failures_total',
    help: 'Requests answered without a call while the auth service circuit was open.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.fastFailed);
    },
  });
  new Counter({
    name: 'actorgate_auth_service_cache_hits_total',
    help: 'Requests answered from the auth service answer cache.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.cacheHits);
    },
  });
  new Gauge({
    name: 'actorgate_auth_service_circuit_state',
    help: `Auth service circuit: ${CircuitStates.map((s, i) => `${i}=${s}`).join(', ')}.`,
    registers: [registry],
    collect() {
      this.set(CircuitStates.indexOf(service.circuit));
    },
  });
}
