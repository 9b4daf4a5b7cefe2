/**
 * A worker's way to its backends: the route table, the endpoint picker and one StreamActor per endpoint. It decides
 * which actor carries a session's message under a rule (binding the session on first use) and which route authorizes
 * a topic. It owns the actors' lifecycle (start, close, destroy).
 */
import type { CoarseClock } from '../core/coarse-clock.ts';
import type { Logger } from '../core/logger.ts';
import { endpointsOf, type ResolvedConfig } from '../core/options.ts';
import type { WorkerCounters } from '../core/counters.ts';
import { RouteTable, type Route } from '../routing/route-table.ts';
import { EndpointPicker } from '../routing/endpoint-picker.ts';
import { StreamActor, type StreamActorOptions } from '../backend/stream-actor.ts';
import type { Session } from './session.ts';
import { TopicPolicy } from './topic-policy.ts';

export type BackendCallbacks = Pick<StreamActorOptions, 'onBatch' | 'onDropped' | 'onFailover'>;

export class BackendRouter {
  readonly #routes: RouteTable;
  readonly #picker = new EndpointPicker();
  readonly #actors = new Map<string, StreamActor>();
  /** Routes whose backend authorizes client subscriptions, with their compiled globs, in rule order. */
  readonly #authorizers: { route: Route; topics: TopicPolicy }[];

  constructor(config: ResolvedConfig, worker: number, gateName: string, counters: WorkerCounters, logger: Logger, clock: CoarseClock, callbacks: BackendCallbacks) {
    this.#routes = new RouteTable(config.routes);
    this.#authorizers = this.#routes.routes
      .filter((route) => route.rule.authorizeTopics.length > 0)
      .map((route) => ({ route, topics: new TopicPolicy(route.rule.authorizeTopics) }));
    endpointsOf(config).forEach((endpoint, i) => {
      const actor = new StreamActor({ endpoint, gateName, worker, backend: config.backend, counters: counters.endpoint(i), logger, clock, ...callbacks });
      this.#actors.set(endpoint, actor);
    });
  }

  start(): void {
    for (const actor of this.#actors.values()) actor.start();
  }

  /** The most specific rule for a client message, or undefined (NO_ROUTE). */
  match(serverId: number): Route | undefined {
    return this.#routes.match(serverId);
  }

  /** The first route whose `authorizeTopics` matches the topic, or undefined. */
  authorizerOf(topic: string): Route | undefined {
    for (const { route, topics } of this.#authorizers) if (topics.allows(topic)) return route;
    return undefined;
  }

  /** The actor carrying this session's messages under the route; binds the session on first use. */
  actorFor(session: Session, route: Route): StreamActor {
    return session.backends.get(route.index) ?? this.#bind(session, route);
  }

  close(flushTimeoutMs: number): Promise<void> {
    return Promise.all([...this.#actors.values()].map((actor) => actor.close(flushTimeoutMs))).then(() => undefined);
  }

  destroy(): void {
    for (const actor of this.#actors.values()) actor.destroy();
  }

  #bind(session: Session, route: Route): StreamActor {
    // Unbound sessions go to healthy endpoints (no outage, circuit not open); when none is, to any (the message
    // then queues or fails fast there).
    const endpoints = route.rule.endpoints;
    let candidates: readonly string[] = endpoints.filter((e) => this.#actors.get(e)!.healthy());
    if (candidates.length === 0) candidates = endpoints;
    const endpoint = this.#picker.pick(route, candidates, { sessionId: session.id, userId: session.userId })!;
    const actor = this.#actors.get(endpoint)!;
    session.backends.bind(route.index, actor, route.rule.notify);
    actor.bind(session, route.rule.notify);
    return actor;
  }
}
