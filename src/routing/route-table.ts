/**
 * The route table (docs/PROTOCOL.md §6, "Routing"): rules matched by (serverType, worldId, instId), 0 a wildcard, most specific first.
 * Built once from a validated rule list; matching is an array index plus a scan of the few rules of one serverType.
 */
import type { RouteRule } from '../core/options.ts';
import { instIdOf, serverTypeOf, worldIdOf } from '../protocol/frame.ts';

export interface Route {
  /** Position in the configured rule list; the key for a session's sticky binding. */
  readonly index: number;
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
      rule,
      specificity: (rule.worldId !== 0 ? 2 : 0) + (rule.instId !== 0 ? 1 : 0),
    }));
    for (const route of this.routes) {
      const list = (this.#byServerType[route.rule.serverType] ??= []);
      list.push(route);
    }
    for (const list of this.#byServerType) list?.sort((a, b) => b.specificity - a.specificity || a.index - b.index);
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
