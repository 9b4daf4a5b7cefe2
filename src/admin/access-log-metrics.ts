/** The access log's counters per worker (src/worker/access-log.ts): lines written and lines dropped. */
import { AccessLogSlot } from '../core/counters.ts';
import type { PerWorker } from './auth-metrics.ts';

export function registerAccessLogMetrics(perWorker: PerWorker): void {
  const written = 'Access log lines written to accessLog.destination.';
  perWorker('counter', 'actorgate_access_log_written_total', written, AccessLogSlot.WRITTEN);
  perWorker(
    'counter',
    'actorgate_access_log_dropped_total',
    "Access log lines dropped: the worker's buffer (accessLog.maxBufferLines) was full, or their write failed.",
    AccessLogSlot.DROPPED,
  );
}
