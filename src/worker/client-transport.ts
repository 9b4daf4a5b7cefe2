/**
 * The worker's client transport: one uWebSockets.js app on the shared port. It accepts or refuses upgrades and hands
 * socket events to its handler (the worker actor); it knows nothing of routing or backends.
 *
 * Port sharing: uSockets sets SO_REUSEPORT only for a non-zero port, so `port: 0` is resolved here by binding port 0
 * once to learn a free port, releasing it and binding that port again with SO_REUSEPORT, all in one synchronous turn.
 *
 * TLS (`listen.tls`): the app is uWS's SSLApp. uWS cannot swap the certificate of a live app, so `reloadTls()` builds
 * a new app with the same handlers and the new files, listens with it on the same port (SO_REUSEPORT again), then
 * closes only the old app's listen socket: established connections stay on the old app, new handshakes reach the new
 * one. A retired app is closed once its last WebSocket has gone (checked at the next reload) or with the transport;
 * topic publishes go to every live app, since uWS topics are per app.
 */
import uWS from 'uWebSockets.js';
import type { LimitsOptions } from '../core/options.ts';
import type { ResolvedTls } from '../core/options-tls.ts';
import { ActorgateError } from '../core/errors.ts';
import { HEADER_BYTES, SUBPROTOCOL } from '../protocol/frame.ts';
import type { SocketData } from './session.ts';
import type { UpgradeAuth } from './upgrade-auth.ts';
import type { UserConnections } from './user-connections.ts';
import type { UpgradeDenial, UpgradeGuard } from './upgrade-guard.ts';

export interface ClientHandler {
  /** Whether a new connection may be accepted now (running, and under the connection limit). */
  admits(): boolean;
  /** Whether the worker takes connections at all (running: not draining or closing). */
  accepting(): boolean;
  onOpen(ws: uWS.WebSocket<SocketData>): void;
  onMessage(ws: uWS.WebSocket<SocketData>, message: ArrayBuffer, isBinary: boolean): void;
  onClose(ws: uWS.WebSocket<SocketData>, code: number, reason: ArrayBuffer): void;
  /** A pong or ping from the client: it is alive. */
  onAlive(ws: uWS.WebSocket<SocketData>): void;
  /** Part of the socket's send buffer went out. */
  onDrain(ws: uWS.WebSocket<SocketData>): void;
  onRefused(): void;
}

/** uWS wants 0 or a multiple of 4 in 8–960 s: twice the sweeper's timeout, clamped. */
function backstopIdleSeconds(idleTimeoutMs: number): number {
  if (idleTimeoutMs === 0) return 0;
  return Math.min(960, Math.max(8, Math.ceil((2 * idleTimeoutMs) / 4000) * 4));
}

/** Slack over the protocol limit so an oversized frame gets an ERROR frame rather than a 1009 close. */
const PAYLOAD_SLACK = 1024;

/** One uWS app of the transport and the WebSockets open on it. */
interface AppGeneration {
  readonly app: uWS.TemplatedApp;
  sockets: number;
}

/** What uWS's SSLApp takes: file names (uWS reads the files itself). */
function sslOptions(tls: ResolvedTls): uWS.AppOptions {
  const options: uWS.AppOptions = { cert_file_name: tls.cert, key_file_name: tls.key };
  if (tls.ca !== null) options.ca_file_name = tls.ca;
  if (tls.passphrase !== null) options.passphrase = tls.passphrase;
  return options;
}

export class ClientTransport {
  /** The app that accepts new connections (the newest). */
  #current: AppGeneration;
  /** Apps whose listen socket was closed by a reload, kept while their connections live. */
  readonly #retired = new Set<AppGeneration>();
  readonly #build: (tls: ResolvedTls | null) => AppGeneration;
  #listenSocket: uWS.us_listen_socket | undefined;
  #host = '';
  #port = 0;
  #closed = false;

  /**
   * @param guard the request, address, connection and rate checks (upgrade-guard.ts), before anything else
   * @param auth with `auth` configured: verifies each upgrade's token before the upgrade completes
   * @param tls with `listen.tls`: serve wss:// (files checked by resolveConfig)
   * @param users with `limits.maxConnectionsPerUser`: counts the token's user in Redis before the upgrade completes
   */
  constructor(limits: Readonly<LimitsOptions>, handler: ClientHandler, guard: UpgradeGuard, auth?: UpgradeAuth, tls: ResolvedTls | null = null, users?: UserConnections) {
    const deny = (res: uWS.HttpResponse, denial: UpgradeDenial) => {
      handler.onRefused();
      guard.refuse(res, denial);
    };
    const notAdmitted = (): UpgradeDenial => {
      if (!handler.accepting()) return { refusal: 'not_accepting', reason: 'not accepting connections (draining or closing)' };
      return { refusal: 'worker_connections', reason: `the worker holds limits.maxConnectionsPerWorker (${limits.maxConnectionsPerWorker})` };
    };
    const behavior = {
      compression: uWS.DISABLED,
      maxPayloadLength: limits.maxPayloadBytes + HEADER_BYTES + PAYLOAD_SLACK,
      maxBackpressure: limits.clientSendBufferBytes,
      closeOnBackpressureLimit: 0,
      // Liveness is the SessionSweeper's job (pings, IDLE_TIMEOUT); uWS's own timeout is only a backstop for
      // sockets that stay open after the sweeper ended them.
      idleTimeout: backstopIdleSeconds(limits.idleTimeoutMs),
      sendPingsAutomatically: false,
      upgrade: (res, req, context) => {
        guard.arrived(res);
        const malformed = guard.requestRefusal(res, req);
        if (malformed !== undefined) return deny(res, malformed);
        if (!handler.admits()) return deny(res, notAdmitted());
        const remoteAddress = guard.address(res);
        const limited = guard.admissionRefusal(remoteAddress);
        if (limited !== undefined) return deny(res, limited);
        const offered = req.getHeader('sec-websocket-protocol');
        let protocol = '';
        if (offered !== '') {
          if (!offered.split(',').some((p) => p.trim() === SUBPROTOCOL)) {
            handler.onRefused();
            guard.count('subprotocol');
            res.writeStatus('400 Bad Request').end(`actorgate: unsupported subprotocol; offer ${SUBPROTOCOL} or none`, true);
            return;
          }
          protocol = SUBPROTOCOL;
        }
        // The path is copied out of the request once, here; the session and every packet that carries it share it.
        const data: SocketData = { session: undefined, path: req.getUrl(), remoteAddress };
        const key = req.getHeader('sec-websocket-key');
        const extensions = req.getHeader('sec-websocket-extensions');
        if (auth === undefined) {
          res.upgrade(data, key, protocol, extensions, context);
          return;
        }
        // What the upgrade needs is copied out of `req` above: the verdict may arrive after this handler returned.
        // The worker may have begun draining, or filled up, while the token (or the user's count) was being checked.
        const complete = (): boolean => {
          const denial = handler.admits() ? guard.connectionRefusal(remoteAddress) : notAdmitted();
          if (denial !== undefined) deny(res, denial);
          else res.upgrade(data, key, protocol, extensions, context);
          return denial === undefined;
        };
        const accept = (grant: SocketData['grant']) => {
          data.grant = grant;
          if (users === undefined || grant === undefined) return void complete();
          // Checked before Redis is asked, so a refused upgrade costs no round trip.
          const denial = handler.admits() ? guard.connectionRefusal(remoteAddress) : notAdmitted();
          if (denial !== undefined) return deny(res, denial);
          users.admit(res, grant.userId, data, complete, (refusal) => deny(res, refusal));
        };
        auth.authenticate(res, req, data, accept, () => handler.onRefused());
      },
      message: (ws, message, isBinary) => handler.onMessage(ws, message, isBinary),
      pong: (ws) => handler.onAlive(ws),
      ping: (ws) => handler.onAlive(ws),
      drain: (ws) => handler.onDrain(ws),
    } satisfies uWS.WebSocketBehavior<SocketData>;
    // Every request that is not an upgrade ends here rather than in uWS's 404, so the handshake deadline sees it.
    const other = (res: uWS.HttpResponse) => {
      guard.arrived(res);
      res.writeStatus('426 Upgrade Required').writeHeader('Upgrade', 'websocket').end(`actorgate: WebSocket (${SUBPROTOCOL}) only`, true);
    };
    this.#build = (files) => {
      // SSLApp throws ("App construction failed") for a file OpenSSL cannot load; resolveConfig and loadTls checked
      // the files, and the pair, before.
      const app = files === null ? uWS.App() : uWS.SSLApp(sslOptions(files));
      const generation: AppGeneration = { app, sockets: 0 };
      app.ws<SocketData>('/*', {
        ...behavior,
        open: (ws) => {
          generation.sockets++;
          handler.onOpen(ws);
        },
        close: (ws, code, reason) => {
          generation.sockets--;
          handler.onClose(ws, code, reason);
        },
      });
      app.any('/*', other);
      guard.attach(app);
      return generation;
    };
    this.#current = this.#build(tls);
  }

  /** The app that takes new connections. */
  get app(): uWS.TemplatedApp {
    return this.#current.app;
  }

  /** Subscribers of `topic` over every live app (uWS topics are per app). */
  numSubscribers(topic: string): number {
    let count = this.#current.app.numSubscribers(topic);
    for (const old of this.#retired) count += old.app.numSubscribers(topic);
    return count;
  }

  /** Publishes to `topic` on every live app. */
  publish(topic: string, message: Uint8Array, isBinary: boolean, compress: boolean): boolean {
    let sent = this.#current.app.publish(topic, message, isBinary, compress);
    for (const old of this.#retired) sent = old.app.publish(topic, message, isBinary, compress) || sent;
    return sent;
  }

  /**
   * Serves new handshakes with the certificate files of `tls` (read again now): a new app listens on the same port,
   * then the old app's listen socket closes; its connections stay. Throws, keeping the old app, if the new one cannot
   * be built or cannot listen. Not while listening is stopped (draining, closing): returns false and does nothing.
   * Must not run inside a uWS callback (it may close apps).
   */
  reloadTls(tls: ResolvedTls): boolean {
    if (this.#closed || this.#listenSocket === undefined) return false;
    // Apps retired by earlier reloads whose last WebSocket has gone are closed now.
    for (const old of this.#retired) {
      if (old.sockets > 0) continue;
      this.#retired.delete(old);
      old.app.close();
    }
    const next = this.#build(tls);
    let socket: uWS.us_listen_socket | false = false;
    next.app.listen(this.#host, this.#port, (s) => {
      socket = s;
    });
    if (socket === false) {
      next.app.close();
      throw new ActorgateError('ERR_ACTORGATE_LISTEN', `cannot listen on ${this.#host}:${this.#port} with the new certificate`);
    }
    uWS.us_listen_socket_close(this.#listenSocket);
    this.#retired.add(this.#current);
    this.#current = next;
    this.#listenSocket = socket;
    return true;
  }

  /** Apps kept for their connections after a reload (tests). */
  get retiredApps(): number {
    return this.#retired.size;
  }

  /** Listens on host:port (port 0: picks a free port, see the file comment). Returns the bound port. */
  listen(host: string, port: number): number {
    for (let attempt = 0; attempt < 5; attempt++) {
      let target = port;
      if (port === 0) {
        let probe: uWS.us_listen_socket | false = false;
        this.#current.app.listen(host, 0, (socket) => {
          probe = socket;
        });
        if (probe === false) throw new ActorgateError('ERR_ACTORGATE_LISTEN', `cannot listen on ${host}:0`);
        target = uWS.us_socket_local_port(probe);
        uWS.us_listen_socket_close(probe);
      }
      let socket: uWS.us_listen_socket | false = false;
      this.#current.app.listen(host, target, (s) => {
        socket = s;
      });
      if (socket !== false) {
        this.#listenSocket = socket;
        this.#host = host;
        this.#port = target;
        return target;
      }
      if (port !== 0) break;
    }
    throw new ActorgateError('ERR_ACTORGATE_LISTEN', `cannot listen on ${host}:${port} (in use, or not allowed)`);
  }

  /** Stops accepting connections; open ones stay. */
  stopListening(): void {
    if (this.#listenSocket !== undefined) {
      uWS.us_listen_socket_close(this.#listenSocket);
      this.#listenSocket = undefined;
    }
  }

  /**
   * Closes the listen socket and every connection. Must run before the worker thread ends, on every path: this uWS
   * build aborts the whole process when a thread ends with live sockets. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.stopListening();
    try {
      for (const old of this.#retired) old.app.close();
    } finally {
      this.#retired.clear();
      this.#current.app.close();
    }
  }
}
