/**
 * The sampled stage-latency histograms (src/worker/stage-probes.ts): `actorgate_stage_{queue,write,delivery}_seconds
 * {worker,endpoint}` from each endpoint's slots, `actorgate_stage_push_seconds{worker}` from each worker's.
 */
import type { Registry } from 'prom-client';
import { EndpointStageSlot, STAGE_BOUNDS_SECONDS, StageSlot } from '../core/counters.ts';
import type { WorkerHandle } from '../supervisor/worker-handle.ts';
import { registerHistogramMetric, type HistogramSeries } from './histogram-metric.ts';

/** The endpoints of the table in force and their counter slots (RouteControl.slotEntries). */
export interface EndpointSlots {
  slotEntries(): [string, number][];
}

const SAMPLED = 'Sampled, 1 in metrics.stageSampleEvery:';

const ENDPOINT_STAGES = [
  {
    name: 'actorgate_stage_queue_seconds',
    base: EndpointStageSlot.QUEUE,
    help: `${SAMPLED} a client message in (the worker's handler) until its stream actor took it into a batch.`,
  },
  {
    name: 'actorgate_stage_write_seconds',
    base: EndpointStageSlot.WRITE,
    help: `${SAMPLED} a batch holding a client message handed to grpc-js until grpc-js reported it written.`,
  },
  {
    name: 'actorgate_stage_delivery_seconds',
    base: EndpointStageSlot.DELIVERY,
    help: `${SAMPLED} a backend batch in on the stream until a DATA packet of it reached its client's socket.`,
  },
] as const;

export function registerStageMetrics(
  registry: Registry,
  handles: readonly WorkerHandle[],
  endpoints: EndpointSlots,
): void {
  for (const { name, base, help } of ENDPOINT_STAGES) {
    registerHistogramMetric(registry, {
      name,
      help,
      bounds: STAGE_BOUNDS_SECONDS,
      *series(): Iterable<HistogramSeries> {
        const slots = endpoints.slotEntries();
        for (const h of handles) {
          for (const [endpoint, i] of slots) {
            yield { labels: { worker: h.index, endpoint }, slots: h.counters.endpoint(i), base };
          }
        }
      },
    });
  }
  registerHistogramMetric(registry, {
    name: 'actorgate_stage_push_seconds',
    help: `${SAMPLED} a push taken by the push API until a worker handed it to a client's socket (once per worker).`,
    bounds: STAGE_BOUNDS_SECONDS,
    series: () => handles.map((h) => ({ labels: { worker: h.index }, slots: h.counters.worker, base: StageSlot.PUSH })),
  });
}
