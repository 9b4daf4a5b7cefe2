/**
 * The route document's place in Redis: the key `<prefix>routes` (its JSON text) and the channel
 * `<prefix>routes:changed`, on which a writer publishes the new version after every change. The gateway reads the key
 * at start, again on every notification and every time its subscriber (re)connects (a notification may have been
 * missed meanwhile), and every `control.refreshMs` besides. Writers (`actorgate routes set`) bump the version in a
 * WATCH/MULTI transaction, so two concurrent writers cannot publish the same version.
 */
import type { Logger } from '../core/logger.ts';
import type { ResolvedRedis } from '../core/options.ts';
import { createRedisClient, type RedisClient } from './redis-client.ts';
import { redisRetryDelayMs } from './redis-reconnect.ts';
import type { RouteDocument } from './route-document.ts';

export const routesKey = (prefix: string): string => `${prefix}routes`;
export const routesChannel = (prefix: string): string => `${prefix}routes:changed`;

export interface RouteStoreOptions {
  redis: Pick<ResolvedRedis, 'url' | 'cluster'>;
  prefix: string;
  logger: Logger;
  /** A notification arrived, or the subscriber (re)connected: read the key again. */
  onNotified: () => void;
}

export class RouteStore {
  readonly #options: RouteStoreOptions;
  readonly #client: RedisClient;
  #subscriber: RedisClient | undefined;

  constructor(options: RouteStoreOptions) {
    this.#options = options;
    this.#client = createRedisClient(options.redis, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: redisRetryDelayMs });
    this.#client.on('error', () => {}); // each failed read says so; the connection retries on its own
    this.#client.connect().catch(() => {});
  }

  /** The document's text, null when the key is absent; rejects when Redis does not answer within `timeoutMs`. */
  async read(timeoutMs: number): Promise<string | null> {
    if (this.#client.status !== 'ready') await waitReady(this.#client, timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs)));
    try {
      return await Promise.race([this.#client.get(routesKey(this.#options.prefix)), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Subscribes to the notification channel. */
  subscribe(): void {
    const { redis, prefix, logger, onNotified } = this.#options;
    const subscriber = createRedisClient(redis, { retryStrategy: redisRetryDelayMs, maxRetriesPerRequest: null });
    this.#subscriber = subscriber;
    subscriber.on('error', (err: Error) => logger.debug({ err: err.message }, 'route subscriber error'));
    subscriber.on('ready', () => {
      subscriber.subscribe(routesChannel(prefix)).then(onNotified, (err: Error) => logger.warn({ err: err.message }, 'route subscription failed'));
    });
    subscriber.on('message', () => onNotified());
  }

  close(): void {
    this.#subscriber?.disconnect();
    this.#client.disconnect();
  }
}

function waitReady(client: RedisClient, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', ready);
      reject(new Error(`redis not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const ready = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', ready);
  });
}

/**
 * Writes a document (`actorgate routes set`): its version becomes the stored one + 1, then the change is published.
 * Retried when another writer changed the key in between. Resolves with the version written.
 */
export async function writeRouteDocument(client: RedisClient, prefix: string, doc: Omit<RouteDocument, 'version'>): Promise<number> {
  const key = routesKey(prefix);
  for (let attempt = 0; attempt < 10; attempt++) {
    await client.watch(key);
    const current = await client.get(key);
    let version = 0;
    if (current !== null) {
      try {
        const parsed = JSON.parse(current) as { version?: unknown };
        if (typeof parsed.version === 'number' && Number.isSafeInteger(parsed.version)) version = parsed.version;
      } catch {
        // a bad stored document is replaced; its version is lost
      }
    }
    const next = version + 1;
    const result = await client.multi().set(key, JSON.stringify({ version: next, routes: doc.routes, realms: doc.realms })).publish(routesChannel(prefix), String(next)).exec();
    if (result !== null) return next;
  }
  throw new Error(`${key} kept changing under the write; try again`);
}
