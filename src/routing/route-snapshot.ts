/**
 * The route table as it crosses from the supervisor to its workers: concrete rules (every `dns:///` endpoint already
 * replaced by its addresses), the realms' endpoint sets, and the metric slot of every endpoint. Plain data
 * (structured clone). A worker applies a snapshot whose generation is above the one it holds.
 */
import type { RouteRule } from '../core/options.ts';

export type RouteSource = 'config' | 'redis' | 'cache';

export interface RouteSnapshot {
  /** Bumped by the supervisor for every table it sends (a Redis change, a DNS answer that changed). */
  readonly generation: number;
  /** The route document's version (0 for the config file's routes). */
  readonly version: number;
  readonly source: RouteSource;
  readonly rules: readonly Readonly<Required<RouteRule>>[];
  /** worldId → endpoints, for rules with `realm: true`. */
  readonly realms: Readonly<Record<string, readonly string[]>>;
  /** Every endpoint of the rules and realms → its counter slot (counters.ts `WorkerCounters.endpoint`). */
  readonly slots: Readonly<Record<string, number>>;
}

/** The snapshot of a config whose routes are static: slots in first-seen order (`endpointsOf`). */
export function staticSnapshot(rules: readonly Readonly<Required<RouteRule>>[]): RouteSnapshot {
  const slots: Record<string, number> = {};
  let next = 0;
  for (const rule of rules) for (const endpoint of rule.endpoints) if (slots[endpoint] === undefined) slots[endpoint] = next++;
  return { generation: 0, version: 0, source: 'config', rules, realms: {}, slots };
}
