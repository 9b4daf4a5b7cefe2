/**
 * The one place a Redis connection is made from the `redis` section: a standalone server (`redis.url`, an ioredis
 * `Redis`) or a Redis Cluster (`redis.cluster`, an ioredis `Cluster` over the seed nodes). Both take the same
 * per-connection options; the cluster applies them to each node's connection and routes every command by its key's
 * slot, so single-key commands and one-key scripts work the same on both.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ResolvedRedis } from '../core/options.ts';
import { redisRetryDelayMs } from './redis-reconnect.ts';

export type RedisClient = Redis | Cluster;

/** `{ host, port }` of each `host:port` seed. */
export function clusterSeeds(cluster: readonly string[]): { host: string; port: number }[] {
  return cluster.map((seed) => {
    const colon = seed.lastIndexOf(':');
    return { host: seed.slice(0, colon), port: Number(seed.slice(colon + 1)) };
  });
}

/**
 * A connection to the configured Redis. `options` are a node connection's (offline queue, timeouts, retries); on a
 * cluster, reconnecting the whole cluster follows the same policy (`redisRetryDelayMs`) unless `cluster` says
 * otherwise.
 */
export function createRedisClient(redis: Pick<ResolvedRedis, 'url' | 'cluster'>, options: RedisOptions = {}, cluster: Partial<ClusterOptions> = {}): RedisClient {
  if (redis.cluster === null) return new Redis(redis.url!, options);
  const { enableOfflineQueue, lazyConnect, retryStrategy: _perNode, ...node } = options;
  return new Cluster(clusterSeeds(redis.cluster), {
    enableOfflineQueue: enableOfflineQueue ?? true,
    lazyConnect: lazyConnect ?? false,
    clusterRetryStrategy: redisRetryDelayMs,
    // A slot whose master is down answers "CLUSTERDOWN" or a refused connection: fail soon rather than hold the command.
    retryDelayOnClusterDown: 100,
    retryDelayOnFailover: 100,
    maxRedirections: 4,
    redisOptions: node,
    ...cluster,
  });
}

/** What the logs say about the configured Redis: its URL without credentials, or the cluster's seeds. */
export function describeRedis(redis: Pick<ResolvedRedis, 'url' | 'cluster'>): string {
  if (redis.cluster !== null) return `cluster ${redis.cluster.join(',')}`;
  return redis.url!.replace(/\/\/[^@/]*@/, '//');
}

/**
 * A cluster with sharded subscribers (ioredis 5.9.3) reads the slot map again at once each time one subscriber's
 * connection ends, and while a master is down with its slots still assigned, every new subscriber to it ends at once:
 * the reads then follow each other with no pause and hold a worker's loop at 100 % CPU until the master returns
 * (seen in test/integration/route-control-cluster.test.ts). This lets one read start per `minMs` at most; callers of a
 * held-back read are answered by the next one.
 */
export function throttleSlotRefresh(cluster: Cluster, minMs: number): void {
  const refresh = cluster.refreshSlotsCache.bind(cluster);
  const waiting: ((err?: Error | null) => void)[] = [];
  let last = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    timer = undefined;
    last = performance.now();
    const callbacks = waiting.splice(0);
    refresh((err) => {
      for (const callback of callbacks) callback(err);
    });
  };
  cluster.refreshSlotsCache = (callback) => {
    if (callback !== undefined) waiting.push(callback);
    if (timer !== undefined) return;
    const wait = last + minMs - performance.now();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait).unref();
  };
}
