/**
 * Reference (a): a bare uWebSockets.js echo server on one thread, the ceiling for WebSocket handling in Node on
 * this machine. It sends every binary message straight back, header and all, and does nothing else: no parsing, no
 * routing, no backend. Whatever actorgate costs beyond this is the price of being a gateway.
 */
import uWS from 'uWebSockets.js';

export interface UwsEcho {
  readonly port: number;
  close(): void;
}

export function startUwsEcho(host = '127.0.0.1', port = 0): UwsEcho {
  const app = uWS.App().ws('/*', {
    compression: uWS.DISABLED,
    maxPayloadLength: 128 * 1024,
    maxBackpressure: 1024 * 1024,
    idleTimeout: 0,
    message: (ws, message, isBinary) => {
      ws.send(message, isBinary);
    },
  });
  let listenSocket: uWS.us_listen_socket | false = false;
  app.listen(host, port, (socket) => {
    listenSocket = socket;
  });
  if (listenSocket === false) throw new Error(`uws-echo: cannot listen on ${host}:${port}`);
  const bound = uWS.us_socket_local_port(listenSocket);
  return {
    port: bound,
    close: () => app.close(),
  };
}
