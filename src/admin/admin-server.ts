/**
 * The admin HTTP server on the supervisor: /health (process alive), /ready (every worker running, not draining),
 * /metrics (Prometheus), and POST /v1/push (http-push.ts). Plain node:http.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Supervisor } from '../supervisor/supervisor.ts';
import type { PushRouter } from '../push/push-router.ts';
import { handleHttpPush } from '../push/http-push.ts';

export class AdminServer {
  readonly #server: Server;
  readonly #supervisor: Supervisor;
  readonly #registry: Registry;

  constructor(supervisor: Supervisor, registry: Registry, router: PushRouter) {
    this.#supervisor = supervisor;
    this.#registry = registry;
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/v1/push') {
        if (req.method === 'POST') handleHttpPush(router, req, res);
        else res.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      switch (path) {
        case '/health':
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
          return;
        case '/ready': {
          const ready = this.#supervisor.ready;
          res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ready, workers: this.#supervisor.status() }));
          return;
        }
        case '/metrics':
          this.#registry.metrics().then(
            (text) => res.writeHead(200, { 'content-type': this.#registry.contentType }).end(text),
            (err: Error) => res.writeHead(500).end(err.message),
          );
          return;
        default:
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /health, /ready, /metrics, POST /v1/push\n');
      }
    });
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
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
