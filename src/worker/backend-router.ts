/**
 * A worker's way to its backends: the route table, the endpoint picker and one StreamActor per endpoint. It decides
 * which actor carries a session's message under a rule (binding the session on first use) and which route authorizes
 * a topic. It owns the actors' lifecycle (start, close, destroy).
 *
 * The table changes when the supervisor sends a new RouteSnapshot (routes from Redis, DNS answers; `apply`): new
 * endpoints get actors at once; a session bound to an endpoint still in its rule keeps it (sticky, so its order on
 * that stream is untouched); one whose endpoint left its rule is released (BACKEND_FAILOVER to the client, CLOSE to
 * that backend) and binds again on its next message; an actor whose endpoint left the table flushes what it has
 * queued and closes.
 */
import type { CoarseClock } from '../core/coarse-clock.ts';
import type { Logger } from '../core/logger.ts';
import type { ResolvedConfig } from '../core/options.ts';
import type { WorkerCounters } from '../core/counters.ts';
import { Code } from '../protocol/codes.ts';
import { encodeError } from '../protocol/control.ts';
import { worldIdOf } from '../protocol/frame.ts';
import { bindingKey, bindingWorld, RouteTable, type Route } from '../routing/route-table.ts';
import { staticSnapshot, type RouteSnapshot } from '../routing/route-snapshot.ts';
import { EndpointPicker } from '../routing/endpoint-picker.ts';
import { StreamActor, type StreamActorOptions } from '../backend/stream-actor.ts';
import type { StreamPacket } from '../backend/stream-packet.ts';
import type { Session } from './session.ts';
import { StageProbes, type EndpointStages } from './stage-probes.ts';
import { TopicPolicy } from './topic-policy.ts';

export type BackendCallbacks = Pick<StreamActorOptions, 'onDropped' | 'onFailover'> & {
  /** Backend → gateway packets, one received batch at a time, in stream order; `stages`: its endpoint's sink. */
  onBatch: (packets: StreamPacket[], from: StreamActor, stages: EndpointStages) => void;
  /** A route change released the session from an endpoint (`ROUTE_RELEASED` is the frame to send it). */
  onReleased?: (session: Session) => void;
};

/** What a session released by a route change is told: the failover code, so it simply sends again. */
export const ROUTE_RELEASED = encodeError(Code.BACKEND_FAILOVER, 0, 0, 'route changed; rebinding on the next message');

const REALM_BIT = 0x80000000;
const NONE: readonly string[] = [];

export class BackendRouter {
  #routes: RouteTable;
  #snapshot: RouteSnapshot;
  #realms = new Map<number, readonly string[]>();
  #picker = new EndpointPicker();
  readonly #actors = new Map<string, StreamActor>();
  /** Actors of endpoints gone from the table, still flushing what they had queued. */
  readonly #leaving = new Set<StreamActor>();
  /** Routes whose backend authorizes client subscriptions, with their compiled globs, in rule order. */
  #authorizers: { route: Route; topics: TopicPolicy }[] = [];
  readonly #config: ResolvedConfig;
  readonly #worker: number;
  readonly #gateName: string;
  readonly #counters: WorkerCounters;
  readonly #logger: Logger;
  readonly #clock: CoarseClock;
  readonly #callbacks: BackendCallbacks;
  readonly #stages: StageProbes;
  #started = false;
  #closing = false;

  /**
   * @param snapshot the table in force (the supervisor's); absent, the config file's routes
   * @param stages the worker's stage sampling (stage-probes.ts): each actor reports its probes to its endpoint's sink
   */
  constructor(
    config: ResolvedConfig,
    worker: number,
    gateName: string,
    counters: WorkerCounters,
    logger: Logger,
    clock: CoarseClock,
    callbacks: BackendCallbacks,
    snapshot?: RouteSnapshot,
    stages = new StageProbes(0),
  ) {
    this.#config = config;
    this.#worker = worker;
    this.#gateName = gateName;
    this.#counters = counters;
    this.#logger = logger;
    this.#clock = clock;
    this.#callbacks = callbacks;
    this.#stages = stages;
    this.#snapshot = snapshot ?? staticSnapshot(config.routes);
    this.#routes = this.#table(this.#snapshot);
    for (const endpoint of Object.keys(this.#snapshot.slots)) this.#actor(endpoint);
  }

  /** The table in force: its generation, version and source. */
  get snapshot(): RouteSnapshot {
    return this.#snapshot;
  }

  /** Endpoints with a stream actor (closing ones excluded). */
  get endpoints(): string[] {
    return [...this.#actors.keys()];
  }

  start(): void {
    this.#started = true;
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

  /**
   * The actor carrying this session's messages under the route (for the message's `serverId`: a realm rule's
   * endpoints depend on its world); binds the session on first use. Undefined when the rule has no endpoint now
   * (a DNS name with no address, a world with no realm and no fallback).
   */
  actorFor(session: Session, route: Route, serverId: number): StreamActor | undefined {
    const key = route.rule.realm ? bindingKey(route, serverId) : route.key;
    return session.backends.get(key) ?? this.#bind(session, route, key, serverId);
  }

  /**
   * Swaps in a newer table (older or equal generations are ignored). `sessions`: the worker's, checked for bindings
   * whose endpoint left their rule.
   */
  apply(snapshot: RouteSnapshot, sessions: Iterable<Session>): void {
    if (this.#closing || snapshot.generation <= this.#snapshot.generation) return;
    const before = new Set(this.#actors.keys());
    this.#snapshot = snapshot;
    this.#routes = this.#table(snapshot);
    this.#picker = new EndpointPicker();
    for (const endpoint of Object.keys(snapshot.slots)) if (!this.#actors.has(endpoint)) this.#actor(endpoint);
    let released = 0;
    for (const session of sessions) if (this.#recheck(session)) released++;
    const removed = [...before].filter((endpoint) => snapshot.slots[endpoint] === undefined);
    for (const endpoint of removed) {
      const actor = this.#actors.get(endpoint)!;
      this.#actors.delete(endpoint);
      this.#leaving.add(actor);
      // What is queued still goes out (in order); then the stream half-closes, which ends its sessions for the backend.
      void actor.close(this.#config.shutdown.flushTimeoutMs).then(() => this.#leaving.delete(actor));
    }
    this.#logger.info({ generation: snapshot.generation, version: snapshot.version, source: snapshot.source, rules: snapshot.rules.length, added: Object.keys(snapshot.slots).filter((e) => !before.has(e)), removed, released }, 'route table applied');
  }

  close(flushTimeoutMs: number): Promise<void> {
    this.#closing = true;
    return Promise.all([...this.#actors.values(), ...this.#leaving].map((actor) => actor.close(flushTimeoutMs))).then(() => undefined);
  }

  destroy(): void {
    this.#closing = true;
    for (const actor of [...this.#actors.values(), ...this.#leaving]) actor.destroy();
  }

  #table(snapshot: RouteSnapshot): RouteTable {
    const table = new RouteTable(snapshot.rules);
    this.#authorizers = table.routes.filter((route) => route.rule.authorizeTopics.length > 0).map((route) => ({ route, topics: new TopicPolicy(route.rule.authorizeTopics) }));
    this.#realms = new Map(Object.entries(snapshot.realms).map(([world, endpoints]) => [Number(world), endpoints]));
    return table;
  }

  #actor(endpoint: string): void {
    const slot = this.#snapshot.slots[endpoint]!;
    const counters = this.#counters.endpoint(slot);
    const stages = this.#stages.sink(counters);
    const { onBatch, onDropped, onFailover } = this.#callbacks;
    const actor = new StreamActor({
      endpoint,
      gateName: this.#gateName,
      worker: this.#worker,
      backend: this.#config.backend,
      counters,
      logger: this.#logger,
      clock: this.#clock,
      probes: stages,
      onDropped,
      onFailover,
      onBatch: (packets, from) => onBatch(packets, from, stages),
    });
    this.#actors.set(endpoint, actor);
    if (this.#started) actor.start();
  }

  /** The endpoints a binding key may use in the current table (none when its rule is gone or changed kind). */
  #endpointsOf(key: number): readonly string[] {
    const realm = key >= REALM_BIT;
    const base = realm ? key - REALM_BIT : key;
    const world = bindingWorld(base);
    const route = this.#routes.byKey(realm ? base - world * 0x100 : base);
    if (route === undefined || route.rule.realm !== realm) return NONE;
    return realm ? (this.#realms.get(world) ?? route.rule.endpoints) : route.rule.endpoints;
  }

  /** Releases the session's bindings whose endpoint left their rule; true when any did. */
  #recheck(session: Session): boolean {
    let stale: number[] | undefined;
    for (const [key, actor] of session.backends.keys()) {
      if (!this.#endpointsOf(key).includes(actor.endpoint)) (stale ??= []).push(key);
    }
    if (stale === undefined) return false;
    for (const key of stale) {
      const left = session.backends.release(key);
      // No other rule of the session uses that endpoint: its backend is told the session left (CLOSE follows its
      // last DATA there), as at the session's end.
      left?.actor.closeSession(session, Code.BACKEND_FAILOVER, 'route changed', left.notify);
    }
    this.#callbacks.onReleased?.(session);
    return true;
  }

  #bind(session: Session, route: Route, key: number, serverId: number): StreamActor | undefined {
    const endpoints = route.rule.realm ? (this.#realms.get(worldIdOf(serverId)) ?? route.rule.endpoints) : route.rule.endpoints;
    if (endpoints.length === 0) return undefined;
    // Unbound sessions go to healthy endpoints (no outage, circuit not open); when none is, to any (the message
    // then queues or fails fast there).
    let candidates: readonly string[] = endpoints.filter((e) => this.#actors.get(e)?.healthy() === true);
    if (candidates.length === 0) candidates = endpoints.filter((e) => this.#actors.has(e));
    const endpoint = this.#picker.pick(route, candidates, { sessionId: session.id, userId: session.userId });
    if (endpoint === undefined) return undefined;
    const actor = this.#actors.get(endpoint)!;
    session.bindings().bind(key, actor, route.rule.notify);
    actor.bind(session, route.rule.notify);
    return actor;
  }
}
