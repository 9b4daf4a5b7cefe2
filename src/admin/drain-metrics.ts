/** The drain's metrics (src/supervisor/drain-plan.ts), read at scrape time like every other. */
import { Counter, Gauge, type Registry } from 'prom-client';
import { DrainSlot } from '../core/counters.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';

/** The values of actorgate_drain_state. */
export const DRAIN_STATES = ['none', 'pre-drain', 'draining', 'closing', 'closed'] as const;

export function registerDrainMetrics(registry: Registry, supervisor: Supervisor): void {
  new Gauge({
    name: 'actorgate_drain_state',
    help: 'The drain: 0=none, 1=pre-drain (not ready, no DRAIN sent yet), 2=draining, 3=closing, 4=closed.',
    registers: [registry],
    collect() {
      this.set(DRAIN_STATES.indexOf(supervisor.drainProgress().state));
    },
  });
  new Gauge({
    name: 'actorgate_drain_sessions_remaining',
    help: 'Sessions still open since the drain began (0 while no drain).',
    registers: [registry],
    collect() {
      const progress = supervisor.drainProgress();
      this.set(progress.state === 'none' ? 0 : progress.sessionsRemaining);
    },
  });
  new Counter({
    name: 'actorgate_drain_closes_total',
    help: 'Sessions the gateway closed with DRAINED: at their time in the drain window, or at the drain deadline.',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      for (const h of supervisor.workers) this.inc({ worker: h.index }, h.counters.worker[DrainSlot.CLOSES]!);
    },
  });
}
