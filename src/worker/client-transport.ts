/**
 * The worker's client transport: one uWebSockets.js app on the shared port. It accepts or refuses upgrades and hands
 * socket events to its handler (the worker actor); it knows nothing of routing or backends.
 *
 * Port sharing: uSockets sets SO_REUSEPORT only for a non-zero port, so `port: 0` is resolved here by binding port 0
 * once to learn a free port, releasing it and binding that port again with SO_REUSEPORT, all in one synchronous turn.
 */
import uWS from 'uWebSockets.js';
import type { LimitsOptions } from '../core/options.ts';
import { ActorgateError } from '../core/errors.ts';
import { HEADER_BYTES, SUBPROTOCOL } from '../protocol/frame.ts';
import type { SocketData } from './session.ts';
import type { UpgradeAuth } from './upgrade-auth.ts';
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

export class ClientTransport {
  readonly app: uWS.TemplatedApp;
  #listenSocket: uWS.us_listen_socket | undefined;
  #closed = false;

  /**
   * @param guard the request, address, connection and rate checks (upgrade-guard.ts), before anything else
   * @param auth with `auth` configured: verifies each upgrade's token before the upgrade completes
   */
  constructor(limits: Readonly<LimitsOptions>, handler: ClientHandler, guard: UpgradeGuard, auth?: UpgradeAuth) {
    const deny = (res: uWS.HttpResponse, denial: UpgradeDenial) => {
      handler.onRefused();
      guard.refuse(res, denial);
    };
    const notAdmitted = (): UpgradeDenial => {
      if (!handler.accepting()) return { refusal: 'not_accepting', reason: 'not accepting connections (draining or closing)' };
      return { refusal: 'worker_connections', reason: `the worker holds limits.maxConnectionsPerWorker (${limits.maxConnectionsPerWorker})` };
    };
    this.app = uWS.App().ws<SocketData>('/*', {
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
        const malformed = guard.request(res, req);
        if (malformed !== undefined) return deny(res, malformed);
        if (!handler.admits()) return deny(res, notAdmitted());
        const remoteAddress = guard.address(res);
        const limited = guard.admit(remoteAddress);
        if (limited !== undefined) return deny(res, limited);
        const offered = req.getHeader('sec-websocket-protocol');
        let protocol = '';
        if (offered !== '') {
          if (!offered.split(',').some((p) => p.trim() === SUBPROTOCOL)) {
            handler.onRefused();
            guard.count('subprotocol');
            res.writeStatus('400 Bad Request').end(`actorgate: unsupported subprotocol; offer ${SUBPROTOCOL} or none`);
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
        const accept = (grant: SocketData['grant']) => {
          // The worker may have begun draining, or filled up, while the token was being verified.
          if (!handler.admits()) return deny(res, notAdmitted());
          const full = guard.stillAdmits(remoteAddress);
          if (full !== undefined) return deny(res, full);
          data.grant = grant;
          res.upgrade(data, key, protocol, extensions, context);
        };
        auth.authenticate(res, req, data, accept, () => handler.onRefused());
      },
      open: (ws) => handler.onOpen(ws),
      message: (ws, message, isBinary) => handler.onMessage(ws, message, isBinary),
      close: (ws, code, reason) => handler.onClose(ws, code, reason),
      pong: (ws) => handler.onAlive(ws),
      ping: (ws) => handler.onAlive(ws),
      drain: (ws) => handler.onDrain(ws),
    });
    // Every request that is not an upgrade ends here rather than in uWS's 404, so the handshake deadline sees it.
    this.app.any('/*', (res) => {
      guard.arrived(res);
      res.writeStatus('426 Upgrade Required').writeHeader('Upgrade', 'websocket').end(`actorgate: WebSocket (${SUBPROTOCOL}) only`, true);
    });
    guard.attach(this.app);
  }

  /** Listens on host:port (port 0: picks a free port, see the file comment). Returns the bound port. */
  listen(host: string, port: number): number {
    for (let attempt = 0; attempt < 5; attempt++) {
      let target = port;
      if (port === 0) {
        let probe: uWS.us_listen_socket | false = false;
        this.app.listen(host, 0, (socket) => {
          probe = socket;
        });
        if (probe === false) throw new ActorgateError('ERR_ACTORGATE_LISTEN', `cannot listen on ${host}:0`);
        target = uWS.us_socket_local_port(probe);
        uWS.us_listen_socket_close(probe);
      }
      let socket: uWS.us_listen_socket | false = false;
      this.app.listen(host, target, (s) => {
        socket = s;
      });
      if (socket !== false) {
        this.#listenSocket = socket;
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
    this.app.close();
  }
}
