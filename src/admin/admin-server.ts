/**
 * The admin HTTP server on the supervisor: /health (process alive), /ready (every worker running, not draining),
 * /metrics (Prometheus), /dashboard (dashboard-page.ts, its stream dashboard-stream.ts), /admin/drain
 * (drain-route.ts), and POST /v1/push (http-push.ts). node:http, or node:https with `admin.tls` (admin-tls.ts). With
 * API keys configured (core/api-keys.ts) /health stays open for liveness probes, /ready without a key answers only
 * whether the gateway is ready, the /dashboard page holds no data, and everything else needs a key.
 */
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Supervisor } from '../supervisor/supervisor.ts';
import type { PushRouter } from '../push/push-router.ts';
import { handleHttpPush } from '../push/http-push.ts';
import type { ApiKeys } from '../core/api-keys.ts';
import { admitRequest, requestKey } from './http-api-key.ts';
import type { TlsMaterial } from '../core/options-tls.ts';
import { createAdminHttpServer, reloadAdminTls, type AdminHttpServer } from './admin-tls.ts';
import { redisStatus } from './redis-status.ts';
import { handleDrainRoute } from './drain-route.ts';
import { DashboardSnapshots, type RegistryView } from './dashboard-snapshot.ts';
import { DashboardStream } from './dashboard-stream.ts';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard-page.ts';

export class AdminServer {
  readonly #server: AdminHttpServer;
  readonly #supervisor: Supervisor;
  readonly #registry: Registry;
  readonly #snapshots: DashboardSnapshots;
  readonly #dashboard: DashboardStream;

  /** @param tls with `admin.tls`: serve HTTPS (the files as loadTls read them) */
  constructor(supervisor: Supervisor, registry: Registry, router: PushRouter, keys: ApiKeys, tls: TlsMaterial | null = null) {
    this.#supervisor = supervisor;
    this.#registry = registry;
    this.#snapshots = new DashboardSnapshots(supervisor, router.stats);
    this.#dashboard = new DashboardStream(this.#snapshots);
    this.#server = createAdminHttpServer(tls, (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/v1/push') {
        if (req.method !== 'POST') res.writeHead(405, { allow: 'POST' }).end();
        else if (admitRequest(keys, 'http-push', req, res)) handleHttpPush(router, req, res);
        return;
      }
      if (path === '/admin/drain') return handleDrainRoute(this.#supervisor, keys, req, res);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      switch (path) {
        case '/health':
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
          return;
        case '/ready': {
          // Without a key, a readiness probe or load balancer still learns whether to send traffic; the workers'
          // states need a key. A key that is given must be right.
          const key = requestKey(req);
          const detailed = key !== undefined || !keys.required('admin');
          if (detailed && !admitRequest(keys, 'admin', req, res, key)) return;
          const ready = this.#supervisor.ready;
          res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
          const { routes } = this.#supervisor;
          const table = { source: routes.source, version: routes.snapshot.version, ...(routes.dynamic && this.#supervisor.config.control.routes === 'redis' ? { redisReachable: routes.redisReachable } : {}) };
          res.end(JSON.stringify(detailed ? { ready, workers: this.#supervisor.status(), routes: table, redis: redisStatus(this.#supervisor) } : { ready }));
          return;
        }
        case '/dashboard':
          // The shell holds no data: it is served without a key, and its script presents one to the stream.
          res.writeHead(200, {
            'content-type': 'text/html; charset=utf-8',
            'content-security-policy': DASHBOARD_CSP,
            'cache-control': 'no-store',
            'x-content-type-options': 'nosniff',
          });
          res.end(req.method === 'HEAD' ? undefined : DASHBOARD_HTML);
          return;
        case '/dashboard/events':
          if (admitRequest(keys, 'admin', req, res)) this.#dashboard.open(req, res);
          return;
        case '/metrics':
          if (!admitRequest(keys, 'admin', req, res)) return;
          this.#registry.metrics().then(
            (text) => res.writeHead(200, { 'content-type': this.#registry.contentType }).end(text),
            (err: Error) => res.writeHead(500).end(err.message),
          );
          return;
        default:
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /health, /ready, /metrics, /dashboard, /admin/drain, POST /v1/push\n');
      }
    });
  }

  /** The instance registry, once it exists (it starts after the admin port): the dashboard shows its state. */
  attachRegistry(registry: RegistryView): void {
    this.#snapshots.registry = registry;
  }

  /** With `admin.tls`: new handshakes use `tls`; established connections keep theirs. */
  reloadTls(tls: TlsMaterial): boolean {
    return reloadAdminTls(this.#server, tls);
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    this.#dashboard.close();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
