/**
 * The messages between the supervisor and a worker actor (tagged unions; structured-clone safe).
 */
import type { WireError } from '../core/errors.ts';
import type { ResolvedConfig } from '../core/options.ts';
import type { VerifierPort } from './auth-client.ts';
import type { RouteSnapshot } from '../routing/route-snapshot.ts';
import type { DrainSpread } from './drain-schedule.ts';

/** What a worker is started with (worker_threads `workerData`). */
export interface WorkerInit {
  index: number;
  /** The port to listen on; 0 only for the first worker, which then picks one for all. */
  port: number;
  config: ResolvedConfig;
  /** Counter slots (counters.ts), owned by the supervisor so they survive restarts. */
  counters: SharedArrayBuffer;
  /** Session-id clock state (session-id.ts), owned by the supervisor for the same reason. */
  idClock: Int32Array;
  /**
   * The process's connection counts and upgrade rates (admission-memory.ts), shared by every worker and owned by the
   * supervisor; absent, the worker makes one of its own (an actor run in-process by a test).
   */
  admission?: SharedArrayBuffer;
  /** The route table in force (the supervisor's control plane); absent, the config file's routes. */
  routes?: RouteSnapshot;
  /** With `auth`: this worker's end of a MessagePort to the process's verifier (transferred; auth-broker.ts). */
  authPort?: VerifierPort;
}

/** Supervisor → worker. */
export type WorkerCommand =
  /**
   * Tell every client to reconnect elsewhere after `reconnectAfterMs`, and stop accepting connections; with `spread`
   * (a paced drain) each session's own reconnect-after, and its close at that time (drain-schedule.ts).
   */
  | { type: 'drain'; reconnectAfterMs: number; url: string; spread?: DrainSpread }
  /** Close every session with `code` (SHUTDOWN, or DRAINED after a drain), flush CLOSE packets within `flushTimeoutMs`, close the app. */
  | { type: 'close'; flushTimeoutMs: number; code: number }
  /** Test rigs (config.faultInjection): the next client message handler throws, as a bug would. */
  | { type: 'inject-fault' }
  /** Deliver pushes (msgpack, push-item.ts); answered by a 'push-result' with the same id. */
  | { type: 'push'; id: number; items: Uint8Array }
  /** Read `listen.tls`'s files again and serve new handshakes with them (tls-reload.ts); answered by 'tls-reloaded'. */
  | { type: 'reload-tls'; id: number }
  /** A new route table (routes from Redis, DNS answers): applied if its generation is newer (backend-router.ts). */
  | { type: 'routes'; table: RouteSnapshot };

/** Worker → supervisor. */
export type WorkerEvent =
  | { type: 'listening'; port: number }
  | { type: 'closed' }
  | { type: 'fatal'; error: WireError }
  /** Sessions reached per pushed item, in batch order. */
  | { type: 'push-result'; id: number; counts: Uint32Array }
  /** `reloaded` false: nothing to reload (no TLS, or not listening); `error`: the old certificate is kept. */
  | { type: 'tls-reloaded'; id: number; reloaded: boolean; error?: WireError };
