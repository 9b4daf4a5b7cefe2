/**
 * A worker's Redis fan-out subscriber (with `redis`): what it receives is delivered to the worker's sessions, and
 * the worker's topic and user interest is subscribed through it.
 */
import type { Logger } from '../core/logger.ts';
import type { ResolvedConfig } from '../core/options.ts';
import { WorkerSlot } from '../core/counters.ts';
import { RedisFanout } from '../control/redis-fanout.ts';
import type { PushDelivery } from './push-delivery.ts';
import type { Subscriptions } from './subscriptions.ts';

/** undefined without `redis`. */
export function openWorkerFanout(config: ResolvedConfig, worker: number, logger: Logger, counters: Float64Array, delivery: PushDelivery, subscriptions: Subscriptions): RedisFanout | undefined {
  const redis = config.redis;
  if (redis === null) return undefined;
  const fanout = new RedisFanout({
    redis,
    nodeId: config.nodeId,
    worker,
    logger,
    counters,
    onItem: (item) => {
      counters[WorkerSlot.REDIS_RECEIVED]++;
      delivery.deliver(item);
    },
    onInvalid: () => counters[WorkerSlot.REDIS_INVALID]++,
  });
  subscriptions.attach(fanout);
  return fanout;
}
