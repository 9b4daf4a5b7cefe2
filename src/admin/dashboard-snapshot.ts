/**
 * The dashboard's view of the gateway (docs/PROTOCOL.md, "The dashboard"): one JSON snapshot of the workers' shared
 * counters (core/counters.ts), the push router's stats, Redis and the registry. Rates and the event-loop delay are
 * over the interval since the previous snapshot, from the counters' deltas: the counters are monotonic totals, and a
 * viewer wants what happens now, not an average since start.
 */
import {
  AccessLogSlot,
  AuthRefusals,
  AuthSlot,
  EndpointSlot,
  LimitSlot,
  LOOP_DELAY_BOUNDS_SECONDS,
  LoopDelaySlot,
  RefuseReasons,
  UpgradeRefusals,
  WorkerSlot,
} from '../core/counters.ts';
import { histogramQuantile, readHistogram, type HistogramReading } from '../core/histogram-slots.ts';
import { droppedLogLines } from '../core/logger.ts';
import { StreamStates, type StreamState } from '../backend/stream-state.ts';
import { CircuitStates, type CircuitState } from '../backend/circuit-breaker.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import type { WorkerState } from '../supervisor/worker-handle.ts';
import type { DrainProgress } from '../supervisor/drain-plan.ts';
import type { PushStats } from '../push/push-router.ts';
import type { InstanceState } from '../control/registry-entry.ts';
import { redisStatus, type RedisStatus } from './redis-status.ts';

/** A monotonic total and its rate over the last interval. */
export interface Rated {
  total: number;
  perSec: number;
}

export interface DashboardWorker {
  index: number;
  state: WorkerState;
  sessions: number;
  restarts: number;
  /** Event-loop delay over the last interval (all samples so far when none came in it); null before any sample. */
  loopDelayMs: { p99: number; mean: number } | null;
}

export interface DashboardEndpoint {
  endpoint: string;
  worker: number;
  stream: StreamState;
  circuit: CircuitState;
  mailboxDepth: number;
  mailboxPeak: number;
  inFlightBytes: number;
  /** PacketBatch writes. */
  writes: Rated;
  packetsSent: Rated;
  mailboxRejected: Rated;
  unavailable: Rated;
}

/** Where this instance stands in the registry: absent without Redis. */
export interface DashboardRegistry {
  state: InstanceState;
  /** The last write of the entry succeeded. */
  healthy: boolean;
}

/** What the registry tells the dashboard; InstanceRegistry is one. */
export interface RegistryView {
  readonly state: InstanceState;
  readonly healthy: boolean;
}

export interface DashboardSnapshot {
  /** Epoch milliseconds when it was taken. */
  at: number;
  /** Milliseconds since the previous snapshot: the rates' interval (0 for the first). */
  intervalMs: number;
  name: string;
  nodeId: number;
  ready: boolean;
  sessions: number;
  workers: DashboardWorker[];
  /** backend.mailboxCapacity: what a mailbox depth is out of. */
  mailboxCapacity: number;
  endpoints: DashboardEndpoint[];
  /** Totals summed over the workers, by reason. */
  refusals: {
    messages: Record<string, Rated>;
    upgrades: Record<string, Rated>;
    auth: Record<string, Rated>;
  };
  drops: { clientSend: Rated; log: Rated; accessLog: Rated };
  /** The push API's outcomes (PushStats). */
  push: Record<PushOutcome, Rated>;
  routes: { source: string; version: number };
  redis: RedisStatus | null;
  registry: DashboardRegistry | null;
  /** The supervisor's drain progress (Supervisor.drainProgress()); null before any drain. */
  drain: DrainProgress | null;
}

type PushOutcome = 'accepted' | 'delivered' | 'invalid' | 'noTarget' | 'overloaded' | 'redisPublished' | 'redisFailed';

/** Three decimals are more than a viewer reads, and keep each frame small. */
const round = (value: number) => Math.round(value * 1000) / 1000;

export class DashboardSnapshots {
  readonly #supervisor: Supervisor;
  readonly #push: PushStats;
  /** The previous snapshot's totals by key, and the loop-delay slots per worker. */
  #totals = new Map<string, number>();
  #loop = new Map<number, HistogramReading>();
  #previousAt = 0;
  registry: RegistryView | undefined;

  constructor(supervisor: Supervisor, push: PushStats) {
    this.#supervisor = supervisor;
    this.#push = push;
  }

  /** Forgets the previous totals: after a pause the next rates would otherwise average over the pause. */
  reset(): void {
    this.#totals = new Map();
    this.#loop = new Map();
    this.#previousAt = 0;
  }

  take(now = Date.now()): DashboardSnapshot {
    const supervisor = this.#supervisor;
    const intervalMs = this.#previousAt === 0 ? 0 : now - this.#previousAt;
    const totals = new Map<string, number>();
    const rated = (key: string, total: number): Rated => {
      totals.set(key, total);
      const before = this.#totals.get(key);
      // A first sight, or a total that went back (a counter slot reused by another endpoint), has no rate yet.
      const fresh = intervalMs === 0 || before === undefined || total < before;
      const perSec = fresh ? 0 : ((total - before) * 1000) / intervalMs;
      return { total, perSec: round(perSec) };
    };
    const handles = supervisor.workers;
    const sumOver = (slot: number) => handles.reduce((sum, h) => sum + h.counters.worker[slot]!, 0);
    const byReason = (kind: string, reasons: readonly string[], base: number) =>
      Object.fromEntries(reasons.map((reason, i) => [reason, rated(`${kind}:${reason}`, sumOver(base + i))]));

    const workers = supervisor.status().map((status): DashboardWorker => {
      const slots = handles[status.index]!.counters.worker;
      return { ...status, loopDelayMs: this.#loopDelay(status.index, slots) };
    });
    const endpoints: DashboardEndpoint[] = [];
    for (const h of handles) {
      for (const [endpoint, slot] of supervisor.routes.slotEntries()) {
        const c = h.counters.endpoint(slot);
        const key = `${h.index}:${endpoint}`;
        endpoints.push({
          endpoint,
          worker: h.index,
          stream: StreamStates[c[EndpointSlot.STREAM_STATE]!] ?? 'idle',
          circuit: CircuitStates[c[EndpointSlot.CIRCUIT_STATE]!] ?? 'closed',
          mailboxDepth: c[EndpointSlot.MAILBOX_DEPTH]!,
          mailboxPeak: c[EndpointSlot.MAILBOX_PEAK]!,
          inFlightBytes: c[EndpointSlot.IN_FLIGHT_BYTES]!,
          writes: rated(`${key}:batches`, c[EndpointSlot.BATCHES_SENT]!),
          packetsSent: rated(`${key}:packets`, c[EndpointSlot.PACKETS_SENT]!),
          mailboxRejected: rated(`${key}:rejected`, c[EndpointSlot.MAILBOX_REJECTED]!),
          unavailable: rated(`${key}:unavailable`, c[EndpointSlot.UNAVAILABLE]!),
        });
      }
    }
    const push = this.#push;
    const registry = this.registry;
    const progress = supervisor.drainProgress();
    const snapshot: DashboardSnapshot = {
      at: now,
      intervalMs,
      name: supervisor.config.name,
      nodeId: supervisor.config.nodeId,
      ready: supervisor.ready,
      sessions: workers.reduce((sum, w) => sum + w.sessions, 0),
      workers,
      mailboxCapacity: supervisor.config.backend.mailboxCapacity,
      endpoints,
      refusals: {
        messages: byReason('refused', RefuseReasons, WorkerSlot.REFUSED_BASE),
        upgrades: byReason('upgrade', UpgradeRefusals, LimitSlot.UPGRADE_REFUSED_BASE),
        auth: byReason('auth', AuthRefusals, AuthSlot.REFUSED_BASE),
      },
      drops: {
        clientSend: rated('drop:send', sumOver(WorkerSlot.CLIENT_SEND_DROPPED)),
        log: rated('drop:log', sumOver(WorkerSlot.LOG_DROPPED) + droppedLogLines()),
        accessLog: rated('drop:accessLog', sumOver(AccessLogSlot.DROPPED)),
      },
      push: {
        accepted: rated('push:accepted', push.accepted),
        delivered: rated('push:delivered', push.delivered),
        invalid: rated('push:invalid', push.invalid),
        noTarget: rated('push:noTarget', push.noTarget),
        overloaded: rated('push:overloaded', push.overloaded),
        redisPublished: rated('push:redisPublished', push.redisPublished),
        redisFailed: rated('push:redisFailed', push.redisFailed),
      },
      routes: { source: supervisor.routes.source, version: supervisor.routes.snapshot.version },
      redis: redisStatus(supervisor) ?? null,
      registry: registry === undefined ? null : { state: registry.state, healthy: registry.healthy },
      drain: progress.state === 'none' ? null : progress,
    };
    this.#totals = totals;
    this.#previousAt = now;
    return snapshot;
  }

  /** p99 and mean over the samples since the last snapshot, from the deltas of the worker's histogram slots. */
  #loopDelay(worker: number, slots: Float64Array): DashboardWorker['loopDelayMs'] {
    const now = readHistogram(slots, LoopDelaySlot.BASE, LOOP_DELAY_BOUNDS_SECONDS);
    const before = this.#loop.get(worker);
    this.#loop.set(worker, now);
    let { count, sum, cumulative: buckets } = now;
    if (before !== undefined && count > before.count) {
      count -= before.count;
      sum -= before.sum;
      buckets = buckets.map((v, i) => v - before.cumulative[i]!);
    }
    if (count === 0) return null;
    const p99 = histogramQuantile(0.99, LOOP_DELAY_BOUNDS_SECONDS, buckets, count);
    return { p99: round(p99 * 1000), mean: round((sum / count) * 1000) };
  }
}
