/**
 * Every metric a gateway exports, read from real gateways' /metrics: one plain, one with JWT authentication on its
 * pool, one asking an auth service, so each conditional collector is registered somewhere. For the test that holds
 * docs/PROTOCOL.md's metric table to what the gateway exports.
 */
import type { Gateway } from '../../src/gateway.ts';
import { makeKey } from '../fixtures/auth-keys.ts';
import { testGateway } from './helpers.ts';

export interface MetricEntry {
  name: string;
  type: string;
  help: string;
  labels: string[];
}

function parse(text: string, into: Map<string, MetricEntry>): void {
  for (const line of text.split('\n')) {
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    if (help !== null) {
      const entry = into.get(help[1]!) ?? { name: help[1]!, type: '', help: help[2]!, labels: [] };
      into.set(entry.name, entry);
      continue;
    }
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) {
      into.get(type[1]!)!.type = type[2]!;
      continue;
    }
    const sample = /^([a-z_:]+?)(?:_bucket|_sum|_count)?\{([^}]*)\}/.exec(line);
    if (sample === null) continue;
    const entry = into.get(sample[1]!) ?? into.get(/^([a-z_:]+)\{/.exec(line)![1]!);
    if (entry === undefined) continue;
    for (const pair of sample[2]!.split(/,(?=[a-z_]+=)/)) {
      const label = pair.split('=')[0]!;
      if (label !== 'le' && !entry.labels.includes(label)) entry.labels.push(label);
    }
  }
}

export async function metricCatalog(): Promise<Map<string, MetricEntry>> {
  const catalog = new Map<string, MetricEntry>();
  const key = makeKey('HS256', 'k');
  const configs = [
    { routes: [{ serverType: 1, endpoints: ['127.0.0.1:1'] }] },
    { routes: [{ serverType: 1, endpoints: ['127.0.0.1:1'] }], auth: { jwt: { keys: [{ jwk: key.jwk, kid: 'k', algorithms: ['HS256'] }] } } },
    { auth: { service: { endpoint: '127.0.0.1:1' } } },
  ];
  for (const options of configs) {
    const gateway: Gateway = await testGateway({ workers: 1, ...options } as Parameters<typeof testGateway>[0]);
    try {
      parse(await (await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).text(), catalog);
    } finally {
      await gateway.close();
    }
  }
  return catalog;
}
