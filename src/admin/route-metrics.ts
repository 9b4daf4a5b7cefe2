/** The route control plane's metrics (src/control/route-control.ts), read from it at scrape time. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RouteControl } from '../control/route-control.ts';
import type { RouteSource } from '../routing/route-snapshot.ts';

const SOURCES: readonly RouteSource[] = ['config', 'redis', 'cache'];

export function registerRouteMetrics(registry: Registry, routes: RouteControl): void {
  new Gauge({
    name: 'actorgate_routes_source',
    help: 'Where the route table in force came from: 1 for its source (config, redis, or cache: the last good Redis document, served because Redis did not answer at start).',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      for (const source of SOURCES) this.set({ source }, routes.source === source ? 1 : 0);
    },
  });
  new Gauge({
    name: 'actorgate_routes_version',
    help: 'Version of the route document in force (0: the config file\'s routes).',
    registers: [registry],
    collect() {
      this.set(routes.snapshot.version);
    },
  });
  new Counter({
    name: 'actorgate_routes_applied_total',
    help: 'Route tables sent to the workers (Redis documents, changed DNS answers; the first included).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(routes.applied);
    },
  });
  new Counter({
    name: 'actorgate_routes_refused_total',
    help: 'Route documents refused (the table in force stayed), by bad field (indexes dropped: routes[].endpoints[]).',
    labelNames: ['field'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [field, count] of routes.refused) this.inc({ field }, count);
    },
  });
  new Gauge({
    name: 'actorgate_routes_redis_reachable',
    help: 'With control.routes "redis": 1 when the last read of the route document got an answer.',
    registers: [registry],
    collect() {
      this.set(routes.redisReachable ? 1 : 0);
    },
  });
  new Counter({
    name: 'actorgate_dns_lookup_failures_total',
    help: 'Lookups of dns:/// endpoint names that failed (their last answer was kept).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(routes.dnsFailures);
    },
  });
}
