/**
 * TLS reloads (`Gateway.reloadTls()`, SIGHUP in the `actorgate` command): each server with a `tls` field reads its
 * files again and serves new handshakes with them, while established connections keep the certificate they
 * negotiated. Every server is checked and reloaded on its own: files that do not load (missing, not PEM, a key that
 * does not fit its certificate, a wrong passphrase) leave that server on its old certificate, are logged and counted
 * (`actorgate_tls_reloads_total{server,outcome="error"}`), and reject the reload with the `ConfigError` naming the
 * field; the other servers' reloads stand. Reloads run one at a time.
 */
import type { Logger } from '../core/logger.ts';
import type { ResolvedConfig } from '../core/options.ts';
import { loadTls, TLS_SERVERS, type TlsMaterial, type TlsServer } from '../core/options-tls.ts';
import type { Supervisor } from './supervisor.ts';

/** A server whose secure context can be swapped (the admin and push servers). */
export interface TlsReloadable {
  reloadTls(tls: TlsMaterial): boolean;
}

export interface TlsReloadResult {
  /** The servers now serving the files as they were read by this reload. */
  readonly reloaded: readonly TlsServer[];
}

export type TlsReloadOutcome = 'ok' | 'error';

/** How long the workers get to answer a reload. */
const WORKER_RELOAD_TIMEOUT_MS = 5000;

export class TlsReloader {
  readonly #config: ResolvedConfig;
  readonly #supervisor: Supervisor;
  readonly #logger: Logger;
  readonly #servers: Partial<Record<'admin' | 'push', TlsReloadable>>;
  /** Reloads by `server` and outcome, for `actorgate_tls_reloads_total`. */
  readonly counts = new Map<`${TlsServer}:${TlsReloadOutcome}`, number>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(config: ResolvedConfig, supervisor: Supervisor, logger: Logger, servers: Partial<Record<'admin' | 'push', TlsReloadable>>) {
    this.#config = config;
    this.#supervisor = supervisor;
    this.#logger = logger;
    this.#servers = servers;
  }

  /** The servers that serve TLS (listen always runs; admin and push unless their port is null). */
  get servers(): TlsServer[] {
    return TLS_SERVERS.filter((server) => this.#config[server].tls !== null && this.#config[server].port !== null);
  }

  /** Reloads every TLS server; resolves with those reloaded, rejects with the first failure (the rest still reload). */
  reload(): Promise<TlsReloadResult> {
    const run = this.#queue.then(() => this.#reloadAll());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #reloadAll(): Promise<TlsReloadResult> {
    const reloaded: TlsServer[] = [];
    let failure: unknown;
    for (const server of this.servers) {
      try {
        await this.#reloadOne(server);
        reloaded.push(server);
        this.#count(server, 'ok');
        this.#logger.info({ server, cert: this.#config[server].tls!.cert }, 'TLS certificate reloaded');
      } catch (err) {
        failure ??= err;
        this.#count(server, 'error');
        this.#logger.error({ server, err: (err as Error).message }, 'TLS reload failed; the old certificate stays in use');
      }
    }
    if (failure !== undefined) throw failure;
    return Object.freeze({ reloaded: Object.freeze(reloaded) });
  }

  async #reloadOne(server: TlsServer): Promise<void> {
    const tls = this.#config[server].tls!;
    const material = loadTls(tls, `${server}.tls`);
    if (server === 'listen') await this.#supervisor.reloadTls(WORKER_RELOAD_TIMEOUT_MS);
    else this.#servers[server]?.reloadTls(material);
  }

  #count(server: TlsServer, outcome: TlsReloadOutcome): void {
    const key = `${server}:${outcome}` as const;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
}
