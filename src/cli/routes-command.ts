/**
 * `actorgate routes get | set FILE | validate FILE`: the route document in Redis (docs/PROTOCOL.md §6, "Route
 * tables"). `validate` checks a file with the gateway's own check and touches nothing; `set` checks it first, then
 * writes it with the stored version + 1 and publishes the change, which every gateway with `control.routes: "redis"`
 * applies at once; `get` prints the stored document. The Redis comes from `--redis` / `--redis-cluster` /
 * `--redis-prefix`, their ACTORGATE_* variables, or `--config FILE`, as for `actorgate instances`.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildOptions, UsageError } from './args.ts';
import { createRedisClient, describeRedis } from '../control/redis-client.ts';
import { parseRouteDocument, type RouteDocument } from '../control/route-document.ts';
import { routesKey, writeRouteDocument } from '../control/route-store.ts';

export interface RoutesIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const USAGE = 'usage: actorgate routes get | set FILE | validate FILE [--redis URL | --redis-cluster SEEDS] [--redis-prefix P] [--config FILE]';
/** How long a command waits for Redis. */
const REDIS_TIMEOUT_MS = 5000;

/** Exit codes as the other commands: 0 ok, 1 Redis failed, 2 bad command line or document. */
export async function runRoutes(args: readonly string[], env: NodeJS.ProcessEnv, io: RoutesIo): Promise<number> {
  let action: string | undefined;
  let file: string | undefined;
  let redisArgs: string[];
  try {
    const parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: { redis: { type: 'string' }, 'redis-cluster': { type: 'string' }, 'redis-prefix': { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (parsed.values.help) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    [action, file] = parsed.positionals;
    if (action !== 'get' && action !== 'set' && action !== 'validate') throw new UsageError(`routes: expected get, set or validate, got ${action ?? 'nothing'} (${USAGE})`);
    if (action !== 'get' && (file === undefined || parsed.positionals.length !== 2)) throw new UsageError(`routes ${action}: expected one FILE (${USAGE})`);
    if (action === 'get' && parsed.positionals.length !== 1) throw new UsageError(`routes get: takes no argument (${USAGE})`);
    redisArgs = Object.entries(parsed.values).flatMap(([flag, value]) => (flag === 'help' || typeof value !== 'string' ? [] : [`--${flag}`, value]));
  } catch (err) {
    io.stderr.write(`actorgate: ${(err as Error).message}\n`);
    return 2;
  }

  let doc: RouteDocument | undefined;
  if (file !== undefined) {
    try {
      doc = parseRouteDocument(await readFile(file, 'utf8'));
    } catch (err) {
      // A ConfigError's message names the bad field (routes[1].endpoints[0]: ...).
      io.stderr.write(`actorgate: ${file}: ${(err as Error).message}\n`);
      return 2;
    }
    if (action === 'validate') {
      io.stdout.write(`${file}: valid (${doc.routes.length} rule${doc.routes.length === 1 ? '' : 's'}, ${Object.keys(doc.realms).length} realm${Object.keys(doc.realms).length === 1 ? '' : 's'})\n`);
      return 0;
    }
  }

  let target;
  try {
    target = buildOptions(['instances', ...redisArgs], env).instances!;
  } catch (err) {
    io.stderr.write(`actorgate: ${(err as Error).message}\n`);
    return 2;
  }
  if (target.url === null && target.cluster === null) {
    io.stderr.write('actorgate: routes needs a Redis: --redis URL, --redis-cluster SEEDS, ACTORGATE_REDIS or --config FILE with redis\n');
    return 2;
  }
  const client = createRedisClient(target, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: REDIS_TIMEOUT_MS, commandTimeout: REDIS_TIMEOUT_MS, retryStrategy: () => null });
  client.on('error', () => {});
  // A cluster whose master for the key is down can hold a command in its retries and slot refreshes: the command
  // answers within three times REDIS_TIMEOUT_MS, however Redis behaves.
  let deadline: NodeJS.Timeout | undefined;
  const expired = new Promise<number>((resolve) => {
    deadline = setTimeout(() => {
      io.stderr.write(`actorgate: routes ${action}: no answer from Redis at ${describeRedis(target)} within ${(3 * REDIS_TIMEOUT_MS) / 1000} s\n`);
      resolve(1);
    }, 3 * REDIS_TIMEOUT_MS);
  });
  try {
    return await Promise.race([expired, talk()]);
  } finally {
    clearTimeout(deadline);
    client.disconnect();
  }

  async function talk(): Promise<number> {
    try {
      await client.connect();
    } catch (err) {
      io.stderr.write(`actorgate: routes ${action}: cannot reach Redis at ${describeRedis(target!)}: ${(err as Error).message}\n`);
      return 1;
    }
    try {
      if (action === 'get') {
        const text = await client.get(routesKey(target!.prefix));
        if (text === null) {
          io.stderr.write(`actorgate: no route document at ${routesKey(target!.prefix)} (gateways serve their config file routes)\n`);
          return 1;
        }
        io.stdout.write(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
        return 0;
      }
      const version = await writeRouteDocument(client, target!.prefix, doc!);
      io.stdout.write(`${routesKey(target!.prefix)}: version ${version} written (${doc!.routes.length} rule${doc!.routes.length === 1 ? '' : 's'}); gateways notified\n`);
      return 0;
    } catch (err) {
      io.stderr.write(`actorgate: routes ${action}: ${(err as Error).message}\n`);
      return 1;
    }
  }
}
