/** Reading the gateway registry (registry-entry.ts): every live entry, by SCAN (each master of a cluster) then GET. */
import { Cluster, type Redis } from 'ioredis';
import { instanceKeyPattern, parseInstanceEntry, type InstanceEntry } from './registry-entry.ts';

/**
 * The live instances under `prefix`, by node id. SCAN visits every key that exists for the whole scan; an entry
 * written meanwhile may be missed, which the announcement channel covers for a watcher. Entries that do not parse
 * are skipped.
 */
export async function listInstances(redis: Redis | Cluster, prefix: string): Promise<InstanceEntry[]> {
  const keys = new Set<string>();
  for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', instanceKeyPattern(prefix), 'COUNT', 1000);
      cursor = next;
      for (const key of batch) keys.add(key);
    } while (cursor !== '0');
  }
  if (keys.size === 0) return [];
  // One GET each rather than MGET: on a cluster the keys live in different slots.
  const values = await Promise.all([...keys].map((key) => redis.get(key)));
  const entries: InstanceEntry[] = [];
  for (const value of values) {
    const entry = value === null ? undefined : parseInstanceEntry(value);
    if (entry !== undefined) entries.push(entry);
  }
  return entries.sort((a, b) => a.nodeId - b.nodeId);
}
