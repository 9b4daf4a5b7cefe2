/**
 * The route table (docs/PROTOCOL.md §6, "Routing"): rules matched by (serverType, worldId, instId), 0 a wildcard, most specific first.
 * Built from a validated rule list (one per table: a route change builds a new one); matching is an array index plus a scan of the few rules of one serverType.
 */
import type { RouteRule } from '../core/options.ts';
import { instIdOf, serverTypeOf, worldIdOf } from '../protocol/frame.ts';

/** A rule's identity across route tables: (serverType, worldId, instId), which no two rules of a table share. */
export function ruleKey(serverType: number, worldId: number, instId: number): number {
  return serverType * 0x800000 + worldId * 0x100 + instId;
}

/**
 * The key of a session's binding under a route: the rule's identity, and for a realm rule the message's world too
 * (each world has its own endpoint set). Realm keys sit above every rule key, so the two never meet.
 */
export function bindingKey(route: Route, serverId: number): number {
  return route.rule.realm ? 0x80000000 + ruleKey(route.rule.serverType, worldIdOf(serverId), route.rule.instId) : route.key;
}

/** The world a realm binding key was made for. */
export function bindingWorld(key: number): number {
  return Math.floor((key % 0x800000) / 0x100);
}

export interface Route {
  /** Position in the table's rule list (per-route rate buckets are kept by it). */
  readonly index: number;
  /** ruleKey(): the same rule keeps it from one table to the next, so sessions' bindings survive a table change. */
  readonly key: number;
  readonly rule: Readonly<Required<RouteRule>>;
  /** 0–3: +2 when worldId is set, +1 when instId is set. A fixed worldId outranks a fixed instId. */
  readonly specificity: number;
}

export class RouteTable {
  readonly routes: readonly Route[];
  readonly #byServerType: (Route[] | undefined)[] = new Array(256);

  constructor(rules: readonly Readonly<Required<RouteRule>>[]) {
    this.routes = rules.map((rule, index) => ({
      index,
      key: ruleKey(rule.serverType, rule.worldId, rule.instId),
      rule,
      specificity: (rule.worldId !== 0 ? 2 : 0) + (rule.instId !== 0 ? 1 : 0),
    }));
    for (const route of this.routes) {
      const list = (this.#byServerType[route.rule.serverType] ??= []);
      list.push(route);
    }
    for (const list of this.#byServerType) list?.sort((a, b) => b.specificity - a.specificity || a.index - b.index);
  }

  /** The rule with this identity (ruleKey), if the table has it. */
  byKey(key: number): Route | undefined {
    const serverType = Math.floor(key / 0x800000);
    return this.#byServerType[serverType]?.find((route) => route.key === key);
  }

  /** The most specific rule for a message's serverId, or undefined (the client gets NO_ROUTE). */
  match(serverId: number): Route | undefined {
    const candidates = this.#byServerType[serverTypeOf(serverId)];
    if (candidates === undefined) return undefined;
    const worldId = worldIdOf(serverId);
    const instId = instIdOf(serverId);
    for (const route of candidates) {
      const { rule } = route;
      if ((rule.worldId === 0 || rule.worldId === worldId) && (rule.instId === 0 || rule.instId === instId)) return route;
    }
    return undefined;
  }
}
