/** Starts test/fixtures/backend-process.ts as a child process and waits for it to listen. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { waitUntil } from '../../src/testkit/index.ts';

const fixture = fileURLToPath(new URL('../fixtures/backend-process.ts', import.meta.url));

export interface BackendProcess {
  child: ChildProcess;
  port: number;
  endpoint: string;
  /** Everything the process printed (its lifecycle lines). */
  output(): string;
  kill(): Promise<void>;
}

export async function startBackendProcess(port = 0): Promise<BackendProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const bound = await waitUntil(() => /ready (\d+)/.exec(out)?.[1], 20_000, 'the backend process to listen');
  return {
    child,
    port: Number(bound),
    endpoint: `127.0.0.1:${bound}`,
    output: () => out,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}
