/**
 * A worker's tracing, with its span export only when `tracing.otlpEndpoint` is set: the OpenTelemetry SDK (and its
 * gRPC exporter) is imported here, dynamically, so a gateway that does not export never loads it.
 */
import type { Logger } from '../core/logger.ts';
import { WorkerTracing, type TracingConfig } from './worker-tracing.ts';

export async function loadTracing(
  config: TracingConfig,
  counters: Float64Array,
  gateName: string,
  worker: number,
  logger: Logger,
): Promise<WorkerTracing> {
  if (config.otlpEndpoint === null) return new WorkerTracing(config, counters);
  const { OtlpSpanExport } = await import('./span-export.ts');
  return new WorkerTracing(config, counters, new OtlpSpanExport(config, gateName, worker, logger, counters));
}
