/**
 * A real Redis Cluster of three masters and no replicas on ephemeral ports, started and stopped by the test itself:
 * three `redis-server --cluster-enabled yes` processes, joined by `redis-cli --cluster create`. Each master's process
 * can be killed and started again on its port with its node config, so it rejoins owning the same slots.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, waitUntil } from '../../src/testkit/index.ts';

const run = promisify(execFile);

export interface ClusterNode {
  readonly port: number;
  /** `127.0.0.1:<port>`, as `redis.cluster` takes it. */
  readonly address: string;
  /** SIGKILL: the process is gone at once, as in a crash. */
  kill(): Promise<void>;
  /** Starts the process again on the same port and config file; it rejoins with its slots. */
  restart(): Promise<void>;
  readonly running: boolean;
}

export interface RedisCluster {
  readonly nodes: readonly ClusterNode[];
  /** The seed list for `redis.cluster`. */
  readonly seeds: string[];
  /** The node serving `key`'s slot (asked of a live node with CLUSTER KEYSLOT and CLUSTER SLOTS). */
  ownerOf(key: string): Promise<ClusterNode>;
  /** Resolves once every live node reports `cluster_state:ok`. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

/** A key or channel name for each master, in node order: `base` with a numeric suffix, the first that lands there. */
export async function namesPerNode(cluster: RedisCluster, base: (i: number) => string): Promise<string[]> {
  const names: (string | undefined)[] = cluster.nodes.map(() => undefined);
  for (let i = 0; names.includes(undefined) && i < 1000; i++) {
    const name = base(i);
    const index = cluster.nodes.indexOf(await cluster.ownerOf(name));
    names[index] ??= name;
  }
  return names as string[];
}

function startNode(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return waitUntil(() => out.includes('Ready to accept connections') || child.exitCode !== null, 10_000, `redis-server ${port} to start`).then(() => {
    if (child.exitCode !== null) throw new Error(`redis-server ${port} failed to start:\n${out}`);
    return child;
  });
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'actorgate-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children = new Map<number, ChildProcess>();
  for (const port of ports) children.set(port, await startNode(port, dir));
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });

  const nodes: ClusterNode[] = ports.map((port) => ({
    port,
    address: `127.0.0.1:${port}`,
    get running() {
      const child = children.get(port);
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      const child = children.get(port);
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    async restart() {
      children.set(port, await startNode(port, dir));
    },
  }));
  const live = () => nodes.find((n) => n.running)!;
  const cluster: RedisCluster = {
    nodes,
    seeds: nodes.map((n) => n.address),
    async ownerOf(key) {
      const redis = new Redis(live().port, '127.0.0.1');
      try {
        const slot = Number(await redis.cluster('KEYSLOT', key));
        const ranges = (await redis.cluster('SLOTS')) as unknown as [number, number, [string, number, ...unknown[]]][];
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (range === undefined) throw new Error(`no owner found for slot ${slot}`);
        return nodes.find((n) => n.port === range[2][1])!;
      } finally {
        redis.disconnect();
      }
    },
    async waitHealthy(timeoutMs = 15_000) {
      await waitUntil(
        async () => {
          for (const node of nodes.filter((n) => n.running)) {
            const info = await cli(node.port, 'CLUSTER', 'INFO').catch(() => '');
            if (!info.includes('cluster_state:ok')) return false;
          }
          return true;
        },
        timeoutMs,
        'the cluster to report cluster_state:ok',
      );
    },
    async stop() {
      for (const node of nodes) await node.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await cluster.waitHealthy();
  return cluster;
}
