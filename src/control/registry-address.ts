/**
 * What an instance advertises in the registry: its client URLs and push address. A wildcard bind address (0.0.0.0,
 * ::, or an empty host) is not an address anyone can connect to, so `registry.advertiseHost` (default: the host name) stands in
 * for it; `registry.clientUrls` and `registry.pushAddress` replace the derived values outright (behind a load balancer
 * or NAT, where the bound address is not the reachable one).
 */
import type { ResolvedConfig } from '../core/options.ts';

function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

export function advertisedHost(config: ResolvedConfig, bound: string): string {
  return isWildcard(bound) ? config.registry.advertiseHost : bound;
}

export function advertisedClientUrls(config: ResolvedConfig, port: number): string[] {
  if (config.registry.clientUrls.length > 0) return [...config.registry.clientUrls];
  return [`${config.listen.tls === null ? 'ws' : 'wss'}://${hostPort(advertisedHost(config, config.listen.host), port)}/`];
}

export function advertisedPushAddress(config: ResolvedConfig, pushPort: number | null): string | null {
  if (pushPort === null) return null;
  return config.registry.pushAddress ?? hostPort(advertisedHost(config, config.push.host), pushPort);
}
