/**
 * With Redis and no configured `nodeId`, an instance claims a free node id (0–8191) so session ids and Redis origins
 * stay unique across the cluster: `SET <prefix>node:<id> <name> NX PX 30000`, refreshed every 10 s while the gateway
 * runs and deleted at close. An instance cut off from Redis for over 30 s may lose its lease; give instances fixed
 * `nodeId`s where that matters. Each command names one key, so a Redis Cluster serves it as a standalone server does.
 */
import type { ResolvedRedis } from '../core/options.ts';
import { createRedisClient, describeRedis } from './redis-client.ts';
import { ActorgateError } from '../core/errors.ts';
import { MAX_NODE_ID } from '../core/session-id.ts';

const LEASE_MS = 30_000;
const REFRESH_MS = 10_000;

export interface NodeIdLease {
  readonly nodeId: number;
  release(): Promise<void>;
}

export async function claimNodeId(target: Pick<ResolvedRedis, 'url' | 'cluster'>, prefix: string, name: string, preferred: number): Promise<NodeIdLease> {
  // No reconnecting while the claim runs: a Redis that cannot be reached fails the start.
  const redis = createRedisClient(target, { maxRetriesPerRequest: 2, commandTimeout: 2000, lazyConnect: true }, { clusterRetryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    for (let i = 0; i <= MAX_NODE_ID; i++) {
      const nodeId = (preferred + i) % (MAX_NODE_ID + 1);
      const key = `${prefix}node:${nodeId}`;
      const value = `${name}:${process.pid}:${Date.now()}`;
      if ((await redis.set(key, value, 'PX', LEASE_MS, 'NX')) !== 'OK') continue;
      const timer = setInterval(() => {
        // Refresh only while the lease is still ours.
        redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0", 1, key, value, LEASE_MS).catch(() => {});
      }, REFRESH_MS).unref();
      return {
        nodeId,
        async release() {
          clearInterval(timer);
          await redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, key, value).catch(() => {});
          redis.disconnect();
        },
      };
    }
    throw new ActorgateError('ERR_ACTORGATE_NODE_ID', 'no free node id in Redis (all 8192 leased)');
  } catch (err) {
    redis.disconnect();
    if (err instanceof ActorgateError) throw err;
    throw new ActorgateError('ERR_ACTORGATE_NODE_ID', `cannot claim a node id from Redis at ${describeRedis(target)}: ${(err as Error).message}`, { cause: err });
  }
}
