/** A real redis-server on an ephemeral port, started and stopped by the test itself. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort, waitUntil } from '../../src/testkit/index.ts';

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

export async function startRedisServer(fixedPort?: number): Promise<RedisServer> {
  const port = fixedPort ?? (await freePort());
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit');
  await waitUntil(() => out.includes('Ready to accept connections') || child.exitCode !== null, 10_000, 'redis-server to start');
  if (child.exitCode !== null) throw new Error(`redis-server failed to start:\n${out}`);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
