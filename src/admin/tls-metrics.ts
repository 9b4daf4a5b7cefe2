/** The TLS metrics, registered when any server has a `tls` field: reloads by server and outcome. */
import { Counter, type Registry } from 'prom-client';
import { TLS_SERVERS } from '../core/options-tls.ts';
import type { TlsReloader } from '../supervisor/tls-reloader.ts';

export function registerTlsMetrics(registry: Registry, reloader: TlsReloader): Registry {
  const servers = reloader.servers;
  if (servers.length === 0) return registry;
  new Counter({
    name: 'actorgate_tls_reloads_total',
    help: 'TLS certificate reloads (reloadTls(), SIGHUP), by server (listen, admin, push) and outcome (ok; error: the old certificate stays).',
    labelNames: ['server', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const server of TLS_SERVERS.filter((s) => servers.includes(s))) {
        for (const outcome of ['ok', 'error'] as const) this.inc({ server, outcome }, reloader.counts.get(`${server}:${outcome}`) ?? 0);
      }
    },
  });
  return registry;
}
