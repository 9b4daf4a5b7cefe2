/**
 * What `/ready`'s detailed body says about Redis: the mode, and each worker's pub/sub path as its probes see it
 * (src/control/redis-health.ts), read from the workers' shared counters. A degraded Redis does not make the instance
 * unready: its clients are still served, and pushes still reach them through this instance; only fan-out from other
 * instances is at risk, which the body and the metrics report.
 */
import { RedisHealthStates, RedisSlot, type RedisHealthState } from '../core/counters.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';

export interface RedisWorkerStatus {
  index: number;
  health: RedisHealthState;
  probesMissed: number;
  reconnects: number;
}

export interface RedisStatus {
  mode: 'standalone' | 'cluster';
  /** `ok`: every worker's last probe came back; else the worst worker's state. Absent with `redis.healthCheckMs` 0. */
  health?: RedisHealthState;
  workers?: RedisWorkerStatus[];
}

export function redisStatus(supervisor: Supervisor): RedisStatus | undefined {
  const redis = supervisor.config.redis;
  if (redis === null) return undefined;
  const mode = redis.cluster === null ? 'standalone' : 'cluster';
  if (redis.healthCheckMs === 0) return { mode };
  const workers = supervisor.workers.map((handle) => {
    const slots = handle.counters.worker;
    return {
      index: handle.index,
      health: RedisHealthStates[slots[RedisSlot.HEALTH]!] ?? 'disconnected',
      probesMissed: slots[RedisSlot.PROBES_MISSED]!,
      reconnects: slots[RedisSlot.RECONNECTS]!,
    };
  });
  const worst = Math.max(...workers.map((w) => RedisHealthStates.indexOf(w.health)));
  return { mode, health: RedisHealthStates[worst]!, workers };
}
