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

export type MetricLabels = Record<string, string | number>;

/** One scrape of /metrics: read several values as of the same instant. */
export interface MetricsScrape {
  /** The sum of the samples of `name` whose labels include `labels` (0 when there is none). */
  (name: string, labels?: MetricLabels): number;
  /** Each matching sample's value: tells a series at 0 from a missing one. */
  samples(name: string, labels?: MetricLabels): number[];
}

export async function scrapeMetrics(gateway: Gateway): Promise<MetricsScrape> {
  const response = await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics: HTTP ${response.status}`);
  const lines = (await response.text()).split('\n');
  const samples = (name: string, labels: MetricLabels = {}): number[] => {
    const values: number[] = [];
    for (const line of lines) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      const labelText = line.slice(name.length, line.lastIndexOf(' '));
      if (Object.entries(labels).every(([k, v]) => labelText.includes(`{${k}="${v}"`) || labelText.includes(`,${k}="${v}"`))) {
        values.push(Number(line.slice(line.lastIndexOf(' ') + 1)));
      }
    }
    return values;
  };
  const sum = (name: string, labels?: MetricLabels) => samples(name, labels).reduce((a, b) => a + b, 0);
  return Object.assign(sum, { samples });
}

/** One value from a fresh scrape (see MetricsScrape). */
export async function metric(gateway: Gateway, name: string, labels: MetricLabels = {}): Promise<number> {
  return (await scrapeMetrics(gateway))(name, labels);
}

export { waitUntil };
