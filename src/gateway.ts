/**
 * The library API: startGateway(options) → Gateway. Used by the CLI and by test rigs (ephemeral ports, disposal).
 */
import { createLogger } from './core/logger.ts';
import { Code } from './protocol/codes.ts';
import { resolveConfig, type GatewayOptions, type ResolvedConfig } from './core/options.ts';
import { Supervisor, type WorkerStatus } from './supervisor/supervisor.ts';
import type { DrainProgress } from './supervisor/drain-plan.ts';
import { AdminServer } from './admin/admin-server.ts';
import { createMetrics } from './admin/metrics.ts';
import { PushRouter } from './push/push-router.ts';
import { PushServer } from './push/push-server.ts';
import { RedisPublisher } from './control/redis-publisher.ts';
import { claimNodeId, type NodeIdLease } from './control/node-id-lease.ts';
import { materialOf } from './core/options-tls.ts';
import { TlsReloader, type TlsReloadable, type TlsReloadResult } from './supervisor/tls-reloader.ts';
import { registerTlsMetrics } from './admin/tls-metrics.ts';
import { ApiKeys, unkeyedExposedServers } from './core/api-keys.ts';
import { InstanceRegistry } from './control/registry.ts';
import { advertisedClientUrls, advertisedPushAddress } from './control/registry-address.ts';

/** Internal handle for the testkit (fault injection); not part of the public API. */
export const kSupervisor = Symbol.for('actorgate.supervisor');

export interface DrainOptions {
  /** Told to every client in the DRAIN message when the drain is not paced (window 0). @default 1000 */
  reconnectAfterMs?: number;
  /** Told to clients in the DRAIN message: where to reconnect. @default '' */
  url?: string;
  /**
   * The hard cap of the whole drain, from this call: the sessions still open then are closed with DRAINED.
   * @default config.shutdown.drainTimeoutMs
   */
  timeoutMs?: number;
  /**
   * Reconnects and DRAINED closes spread evenly over this window (docs/PROTOCOL.md §3); 0: all at once. Cut to
   * `timeoutMs - preDrainDelayMs`. @default config.shutdown.drainWindowMs
   */
  windowMs?: number;
  /** Not ready at once, the first DRAIN only after this. @default config.shutdown.preDrainDelayMs */
  preDrainDelayMs?: number;
}

export interface Gateway extends AsyncDisposable {
  /** The client WebSocket port (shared by every worker). */
  readonly port: number;
  /** The admin HTTP port, or null when disabled. */
  readonly adminPort: number | null;
  /** The GatewayPush gRPC port, or null when disabled. */
  readonly pushPort: number | null;
  readonly config: ResolvedConfig;
  /** Open sessions over all workers. */
  readonly sessions: number;
  /** Each worker's state, session count and restarts. */
  workers(): WorkerStatus[];
  /**
   * Graceful: not ready at once; after the pre-drain delay DRAIN to every client (each its own time in the window)
   * and stop accepting; close those still open at their time (or at the timeout) with DRAINED, then close().
   * Idempotent: a second call returns the first drain's promise. `POST /admin/drain` starts the same drain.
   */
  drain(options?: DrainOptions): Promise<void>;
  /** The drain's state and progress (state 'none' before one began). */
  drainProgress(): DrainProgress;
  /** Resolves once the gateway has closed, whoever closed it (close(), drain(), `POST /admin/drain`). */
  readonly closed: Promise<void>;
  /** Closes every session (SHUTDOWN), flushes CLOSE packets to backends, stops the workers. Idempotent. */
  close(): Promise<void>;
  /**
   * Reads the certificate files of every server with a `tls` field again (the `actorgate` command does this on
   * SIGHUP): new handshakes use the new certificate, established connections keep theirs. Resolves with the servers
   * reloaded. A server whose files do not load keeps its old certificate, and the promise rejects with a
   * `ConfigError` naming the field (`listen.tls.key`); the other servers' reloads stand.
   */
  reloadTls(): Promise<TlsReloadResult>;
  readonly [kSupervisor]: Supervisor;
}

/**
 * Validates `options` (a `ConfigError` names the bad field), starts the workers and the admin and push servers, and
 * resolves once every worker listens. Logs at `warn` unless `log.level` says otherwise, so a gateway embedded in a
 * host process or a test rig stays off its stdout; the `actorgate` command starts at `info`.
 */
export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  let config = resolveConfig(options);
  let lease: NodeIdLease | undefined;
  if (config.redis !== null && options.nodeId === undefined) {
    // Clustered through Redis without a configured node id: claim one nobody else holds.
    lease = await claimNodeId(config.redis, config.redis.prefix, config.name, config.nodeId);
    config = resolveConfig({ ...options, nodeId: lease.nodeId });
  }
  const logger = createLogger(config.log, { worker: 'main' });
  const supervisor = new Supervisor(config, logger);
  try {
    await supervisor.start();
  } catch (err) {
    await lease?.release();
    throw err;
  }
  const publisher = config.redis === null ? undefined : new RedisPublisher(config.redis, logger);
  const router = new PushRouter(config, supervisor, publisher, logger);
  supervisor.pushListener = router;
  let admin: AdminServer | undefined;
  let adminPort: number | null = null;
  let pushServer: PushServer | undefined;
  let pushPort: number | null = null;
  let registry: InstanceRegistry | undefined;

  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  let closing: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  const closeWith = (code: number): Promise<void> => {
    closing ??= (async () => {
      // Leave the registry first: push clients stop sending here before the push server closes.
      await registry?.close();
      await pushServer?.close(config.shutdown.flushTimeoutMs);
      await Promise.all([supervisor.close(config.shutdown.flushTimeoutMs, code), admin?.close()]);
      router.close();
      publisher?.close();
      await lease?.release();
      logger.info('gateway closed');
      logger.flush();
      markClosed();
    })();
    return closing;
  };
  const close = (): Promise<void> => closeWith(Code.SHUTDOWN);

  const apiKeys = new ApiKeys(config);
  const tlsServers: { admin?: TlsReloadable; push?: TlsReloadable } = {};
  const tls = new TlsReloader(config, supervisor, logger, tlsServers);
  try {
    if (config.push.port !== null) {
      pushServer = new PushServer(router, logger, apiKeys, materialOf(config.push.tls, 'push.tls'));
      tlsServers.push = pushServer;
      pushPort = await pushServer.listen(config.push.host, config.push.port);
    }
    if (config.admin.port !== null) {
      admin = new AdminServer(supervisor, registerTlsMetrics(createMetrics(supervisor, router.stats, apiKeys), tls), router, apiKeys, materialOf(config.admin.tls, 'admin.tls'));
      tlsServers.admin = admin;
      adminPort = await admin.listen(config.admin.host, config.admin.port);
    }
    if (config.redis !== null) {
      registry = new InstanceRegistry({ redis: config.redis, ttlMs: config.registry.ttlMs }, {
        name: config.name,
        nodeId: config.nodeId,
        clientUrls: advertisedClientUrls(config, supervisor.port),
        pushAddress: advertisedPushAddress(config, pushPort),
        pushTls: config.push.tls !== null,
        workers: config.workers,
        sessions: () => supervisor.sessions,
      }, logger);
      admin?.attachRegistry(registry);
      await registry.start();
    }
  } catch (err) {
    await close();
    throw err;
  }
  for (const api of unkeyedExposedServers(config)) {
    const open = api === 'push' ? 'Push and PushStream' : config.push.apiKeys.length === 0 ? '/ready, /metrics and POST /v1/push' : '/ready and /metrics';
    logger.warn({ host: config[api].host, port: api === 'push' ? pushPort : adminPort }, `the ${api} port listens beyond loopback without ${api}.apiKeys: ${open} answer anyone who reaches it`);
  }

  const drain = (drainOptions: DrainOptions = {}): Promise<void> => {
    draining ??= (async () => {
      const { shutdown } = config;
      // Not ready and marked draining in the registry at once; the DRAINs wait for the pre-drain delay.
      const drained = supervisor.drain({
        windowMs: drainOptions.windowMs ?? shutdown.drainWindowMs,
        preDrainDelayMs: drainOptions.preDrainDelayMs ?? shutdown.preDrainDelayMs,
        timeoutMs: drainOptions.timeoutMs ?? shutdown.drainTimeoutMs,
        reconnectAfterMs: drainOptions.reconnectAfterMs ?? 1000,
        url: drainOptions.url ?? '',
      });
      const { windowMs, preDrainDelayMs, deadlineAt } = supervisor.drainProgress();
      logger.info({ sessions: supervisor.sessions, windowMs, preDrainDelayMs, deadlineAt }, 'drain started');
      await Promise.all([registry?.setState('draining'), drained]);
      // Sessions still open at the deadline are closed with DRAINED: reconnect (elsewhere).
      await closeWith(Code.DRAINED);
    })();
    return draining;
  };
  supervisor.drainHandler = ({ windowMs }) => {
    drain(windowMs === undefined ? {} : { windowMs }).catch((err: Error) => logger.error({ err: err.message }, 'drain failed'));
  };

  await registry?.setState('running');
  return {
    port: supervisor.port,
    adminPort,
    pushPort,
    config,
    get sessions() {
      return supervisor.sessions;
    },
    workers: () => supervisor.status(),
    drain,
    drainProgress: () => supervisor.drainProgress(),
    closed,
    close,
    reloadTls: () => tls.reload(),
    [Symbol.asyncDispose]: close,
    [kSupervisor]: supervisor,
  };
}
