/** Shared set-up for integration tests: a real gateway on ephemeral ports, quiet logs. */
import { startGateway, type Gateway } from '../../src/gateway.ts';
import type { GatewayOptions } from '../../src/core/options.ts';
import { connectClient, waitUntil, type ProtocolClient } from '../../src/testkit/index.ts';

export function testGateway(options: GatewayOptions): Promise<Gateway> {
  return startGateway({
    workers: 2,
    name: 'it',
    listen: { host: '127.0.0.1', port: 0 },
    admin: { port: 0 },
    push: { port: 0 },
    log: { level: 'silent' },
    ...options,
  });
}

export function urlOf(gateway: Gateway, path = '/'): string {
  return `ws://127.0.0.1:${gateway.port}${path}`;
}

/**
 * Connects clients until every worker holds at least `perWorker` sessions (the kernel spreads connections over the
 * workers; which one a connection lands on is its choice). Returns them grouped by worker.
 */
export async function clientsOnEveryWorker(gateway: Gateway, perWorker: number, limit = 200): Promise<ProtocolClient[][]> {
  const byWorker: ProtocolClient[][] = Array.from({ length: gateway.config.workers }, () => []);
  for (let i = 0; i < limit && byWorker.some((list) => list.length < perWorker); i++) {
    const client = await connectClient(urlOf(gateway));
    byWorker[client.worker]!.push(client);
  }
  if (byWorker.some((list) => list.length < perWorker)) throw new Error(`could not place ${perWorker} clients on every worker`);
  return byWorker;
}

export async function metric(gateway: Gateway, name: string, labels: Record<string, string | number> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export { waitUntil };
