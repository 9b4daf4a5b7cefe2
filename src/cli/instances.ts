/**
 * `actorgate instances`: lists the live gateway instances of the registry (docs/PROTOCOL.md, "Gateway registry"), one line each, or
 * their entries as a JSON array with `--json`. Exit codes: 0 listed (none included), 1 Redis unreachable, 2 no Redis
 * configured.
 */
import { createRedisClient, describeRedis } from '../control/redis-client.ts';
import { listInstances } from '../control/registry-read.ts';
import type { InstanceEntry } from '../control/registry-entry.ts';

interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

function table(entries: readonly InstanceEntry[], now: number): string {
  const rows = [['NODE', 'NAME', 'STATE', 'WORKERS', 'SESSIONS', 'UP', 'PUSH', 'CLIENT URLS']];
  for (const e of entries) {
    rows.push([String(e.nodeId), e.name, e.state, String(e.workers), String(e.sessions), age(now - e.startedAt), e.pushAddress === null ? 'off' : `${e.pushAddress}${e.pushTls ? ' (tls)' : ''}`, e.clientUrls.join(',')]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export async function runInstances(settings: { url: string | null; cluster: string[] | null; prefix: string; json: boolean }, io: Io): Promise<number> {
  if (settings.url === null && settings.cluster === null) {
    io.stderr.write('actorgate: instances needs a Redis: --redis URL, ACTORGATE_REDIS, or a --config file with redis.url or redis.cluster\n');
    return 2;
  }
  const redis = createRedisClient(settings, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 3000, commandTimeout: 5000, retryStrategy: () => null }, { clusterRetryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const entries = await listInstances(redis, settings.prefix);
    if (settings.json) io.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
    else if (entries.length === 0) io.stdout.write(`no live instances under ${settings.prefix}\n`);
    else io.stdout.write(table(entries, Date.now()));
    return 0;
  } catch (err) {
    io.stderr.write(`actorgate: cannot read the registry from ${describeRedis(settings)}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    redis.disconnect();
  }
}
