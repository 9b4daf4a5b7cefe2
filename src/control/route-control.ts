/**
 * The supervisor's control plane for routes: where the table in force comes from and how it changes.
 *
 * With `control.routes: "config"` and no `dns:///` endpoint the table is the config file's and never changes (this
 * object is then a constant). Otherwise the current route document (the config file's routes, or Redis's
 * `<prefix>routes` document, or its cached copy) is expanded into a RouteSnapshot: each `dns:///` endpoint replaced
 * by its addresses (dns-endpoints.ts), every endpoint given a counter slot (endpoint-slots.ts). Each new snapshot goes
 * to every worker (`onTable`), and to every worker started later. Changes are applied one at a time, in order.
 *
 * From Redis: read at start (within START_TIMEOUT_MS), on every notification, when the subscriber reconnects, and
 * every `control.refreshMs`. A document that fails its check is refused (logged with the bad field, counted by
 * field) and the last good table stays. Every accepted document is written to `control.cacheFile`. When Redis does
 * not answer at start, the cached document is served (`source: "cache"`, in /ready and a metric) until Redis answers;
 * with no cache, the config file's routes. An absent key means the config file's routes at start, and keeps the table
 * in force later (a deleted key is more likely a mistake than a wish to route nothing).
 */
import type { Logger } from '../core/logger.ts';
import { CLOSE_WATCHDOG_SLACK_MS, endpointsOf, type ResolvedConfig } from '../core/options.ts';
import { staticSnapshot, type RouteSnapshot, type RouteSource } from '../routing/route-snapshot.ts';
import { DnsEndpoints, dnsResolver, dnsTarget, type ResolveFn } from './dns-endpoints.ts';
import { EndpointSlots } from './endpoint-slots.ts';
import { cacheFileOf, readRouteCache, writeRouteCache } from './route-cache.ts';
import { fieldLabel, parseRouteDocument, type RouteDocument } from './route-document.ts';
import { RouteStore } from './route-store.ts';

/** How long the start waits for Redis before serving the cached table. */
export const START_TIMEOUT_MS = 2000;
/** How soon a read of the document that got no answer is tried again. */
export const RETRY_MS = 500;

export interface RouteControlOptions {
  /** Resolves `dns:///` names; default: `control.dnsServers`, or the system resolver. Tests pass their own. */
  resolve?: ResolveFn;
}

/** What the supervisor does with a new table: zero the reused slots, post it to every live worker. */
export type TableListener = (snapshot: RouteSnapshot, reusedSlots: readonly number[]) => void;

/** Whether the config asks for a table that can change. */
export function routesAreDynamic(config: ResolvedConfig): boolean {
  return config.control.routes === 'redis' || config.routes.some((rule) => rule.endpoints.some((e) => dnsTarget(e) !== undefined));
}

export class RouteControl {
  /** Per-endpoint counter slots each worker's buffer holds. */
  readonly capacity: number;
  readonly dynamic: boolean;
  readonly #config: ResolvedConfig;
  readonly #logger: Logger;
  readonly #slots: EndpointSlots | undefined;
  readonly #dns: DnsEndpoints | undefined;
  #store: RouteStore | undefined;
  #snapshot: RouteSnapshot;
  #doc: RouteDocument;
  #source: RouteSource = 'config';
  #lastText: string | null | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** An outage is logged once, and its end once. */
  #downLogged = false;
  #closed = false;
  onTable: TableListener | undefined;
  /** Documents refused, by bad field (indexes dropped: `routes[].endpoints[]`). */
  readonly refused = new Map<string, number>();
  /** Tables applied since start (the first included). */
  applied = 0;
  /** Whether the last read of Redis got an answer. */
  redisReachable = false;

  constructor(config: ResolvedConfig, logger: Logger, options: RouteControlOptions = {}) {
    this.#config = config;
    this.#logger = logger.child({ component: 'routes' });
    this.dynamic = routesAreDynamic(config);
    this.#doc = { version: 0, routes: config.routes, realms: {} };
    this.#snapshot = staticSnapshot(config.routes);
    if (!this.dynamic) {
      this.capacity = endpointsOf(config).length;
      return;
    }
    this.capacity = Math.max(config.control.maxEndpoints, endpointsOf(config).length);
    this.#slots = new EndpointSlots(this.capacity, config.shutdown.flushTimeoutMs + CLOSE_WATCHDOG_SLACK_MS);
    this.#dns = new DnsEndpoints(options.resolve ?? dnsResolver(config.control.dnsServers), config.control.dnsRefreshMs, this.#logger, () => {
      void this.#enqueue(() => this.#install(this.#doc, this.#source));
    });
  }

  /** The table in force. */
  get snapshot(): RouteSnapshot {
    return this.#snapshot;
  }

  get source(): RouteSource {
    return this.#snapshot.source;
  }

  /** DNS lookups that failed (last answers kept). */
  get dnsFailures(): number {
    return this.#dns?.failures ?? 0;
  }

  /** The endpoints of the table in force and their counter slots. */
  slotEntries(): [string, number][] {
    return this.#slots?.entries() ?? Object.entries(this.#snapshot.slots);
  }

  /** Loads the first table; resolves once there is one to start the workers with. */
  async start(): Promise<void> {
    if (!this.dynamic) return;
    const redis = this.#config.redis;
    if (this.#config.control.routes !== 'redis' || redis === null) {
      await this.#enqueue(() => this.#install(this.#doc, 'config'));
      return;
    }
    this.#store = new RouteStore({ redis, prefix: redis.prefix, logger: this.#logger, onNotified: () => void this.reload() });
    const first = await this.#read(START_TIMEOUT_MS);
    let installed = false;
    if (typeof first === 'string') installed = await this.#enqueue(() => this.#accept(first));
    if (!installed && first === undefined) installed = await this.#enqueue(() => this.#fromCache());
    if (!installed) await this.#enqueue(() => this.#install(this.#doc, 'config'));
    if (first === null) this.#logger.info('no route document in redis; serving the config file routes until one is set');
    this.#store.subscribe();
    this.#timer = setInterval(() => void this.reload(), this.#config.control.refreshMs).unref();
    if (first === undefined) this.#retryLater();
  }

  /**
   * Reads the Redis document again and applies it if it changed. A read that fails is retried every
   * RETRY_MS (a notification may arrive while the connection to the key's server is still coming back), until one
   * gets an answer.
   */
  reload(): Promise<boolean> {
    return this.#enqueue(async () => {
      const text = await this.#read(START_TIMEOUT_MS);
      if (text === undefined) this.#retryLater();
      if (typeof text !== 'string') return false;
      return this.#accept(text);
    });
  }

  #retryLater(): void {
    if (this.#retry !== undefined || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.reload();
    }, Math.min(RETRY_MS, this.#config.control.refreshMs)).unref();
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
    this.#dns?.close();
    this.#store?.close();
  }

  /** One change at a time: a slow DNS answer cannot let an older document overtake a newer one. */
  #enqueue(step: () => Promise<boolean>): Promise<boolean> {
    const run = this.#chain.then(() => (this.#closed ? false : step()));
    this.#chain = run.catch(() => false);
    return run.catch((err: Error) => {
      this.#logger.error({ err: err.message }, 'route change failed; the table in force stays');
      return false;
    });
  }

  /** The key's text, null when absent, undefined when Redis did not answer. */
  async #read(timeoutMs: number): Promise<string | null | undefined> {
    try {
      const text = await this.#store!.read(timeoutMs);
      if (this.#downLogged) this.#logger.info('redis answers; routes follow its document');
      this.#downLogged = false;
      this.redisReachable = true;
      return text;
    } catch (err) {
      if (!this.#downLogged) this.#logger.warn({ err: (err as Error).message }, 'redis unreachable; the table in force stays');
      this.#downLogged = true;
      this.redisReachable = false;
      return undefined;
    }
  }

  async #accept(text: string): Promise<boolean> {
    if (text === this.#lastText && this.#source === 'redis') return false;
    let doc: RouteDocument;
    try {
      doc = parseRouteDocument(text, this.#config.limits.maxPayloadBytes);
    } catch (err) {
      this.#lastText = text;
      this.#refuse(err as Error & { field?: string });
      return false;
    }
    if (!(await this.#install(doc, 'redis'))) return false;
    this.#lastText = text;
    const file = cacheFileOf(this.#config.control.cacheFile, this.#config.name);
    await writeRouteCache(file, doc).catch((err: Error) => this.#logger.warn({ file, err: err.message }, 'could not write the route cache file'));
    return true;
  }

  async #fromCache(): Promise<boolean> {
    const file = cacheFileOf(this.#config.control.cacheFile, this.#config.name);
    try {
      const doc = await readRouteCache(file, this.#config.limits.maxPayloadBytes);
      if (doc === undefined) {
        this.#logger.warn({ file }, 'redis unreachable and no route cache file; serving the config file routes');
        return false;
      }
      this.#logger.warn({ file, version: doc.version }, 'redis unreachable; serving the cached route table');
      return this.#install(doc, 'cache');
    } catch (err) {
      this.#refuse(err as Error & { field?: string }, file);
      return false;
    }
  }

  #refuse(err: Error & { field?: string }, file?: string): void {
    const field = err.field ?? 'document';
    const label = fieldLabel(field);
    this.refused.set(label, (this.refused.get(label) ?? 0) + 1);
    this.#logger.error({ field, err: err.message, ...(file === undefined ? {} : { file }) }, 'route document refused; the table in force stays');
  }

  /** Expands the document into a snapshot and hands it to the workers; false (table unchanged) when it does not fit. */
  async #install(doc: RouteDocument, source: RouteSource): Promise<boolean> {
    const dns = this.#dns!;
    const all = [...doc.routes.flatMap((rule) => rule.endpoints), ...Object.values(doc.realms).flat()];
    await dns.use([...new Set(all.map((e) => dnsTarget(e)?.name).filter((name): name is string => name !== undefined))]);
    const expand = (endpoints: readonly string[]) => [...new Set(endpoints.flatMap((e) => dns.expand(e)))];
    const rules = doc.routes.map((rule) => ({ ...rule, endpoints: expand(rule.endpoints) }));
    const realms = Object.fromEntries(Object.entries(doc.realms).map(([world, endpoints]) => [world, expand(endpoints)]));
    const endpoints = [...new Set([...rules.flatMap((rule) => rule.endpoints), ...Object.values(realms).flat()])];
    const assignment = this.#slots!.assign(endpoints);
    if (assignment === undefined) {
      this.refused.set('control.maxEndpoints', (this.refused.get('control.maxEndpoints') ?? 0) + 1);
      this.#logger.error({ field: 'control.maxEndpoints', endpoints: endpoints.length, max: this.capacity }, 'route table refused: more endpoints than control.maxEndpoints slots free; the table in force stays');
      return false;
    }
    this.#doc = doc;
    this.#source = source;
    this.#snapshot = { generation: this.#snapshot.generation + 1, version: doc.version, source, rules, realms, slots: assignment.slots };
    this.applied++;
    this.#logger.info({ version: doc.version, source, rules: rules.length, endpoints: endpoints.length }, 'route table in force');
    this.onTable?.(this.#snapshot, assignment.reused);
    return true;
  }
}
