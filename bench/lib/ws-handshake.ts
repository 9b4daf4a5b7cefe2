/**
 * The client side of the RFC 6455 opening handshake over a plain net.Socket, shared by the benchmark's raw clients:
 * connect, send the upgrade request, wait for `101`. The accept key is not verified (the peer is our own server).
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface HandshakeOptions {
  host: string;
  port: number;
  /** @default '/' */
  path?: string;
  /** Offered subprotocol; none when omitted. */
  protocol?: string;
  /** Give up (destroy the socket, reject) when the upgrade has not completed by then. @default 10000 */
  timeoutMs?: number;
}

/** Resolves with the upgraded socket and any bytes that arrived after the response headers. */
export function wsHandshake(options: HandshakeOptions): Promise<{ socket: Socket; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: options.host, port: options.port, noDelay: true });
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error(`no upgrade from ${options.host}:${options.port} within ${options.timeoutMs ?? 10_000} ms`)), options.timeoutMs ?? 10_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onHandshake = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHandshake);
      socket.off('error', fail);
      clearTimeout(timer);
      const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.1 101\b/.test(status)) return fail(new Error(`upgrade refused: ${status}`));
      resolve({ socket, rest: head.subarray(end + 4) });
    };
    socket.on('data', onHandshake);
    socket.once('error', fail);
    socket.once('connect', () => {
      socket.write(
        `GET ${options.path ?? '/'} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
          (options.protocol ? `Sec-WebSocket-Protocol: ${options.protocol}\r\n` : '') +
          '\r\n',
      );
    });
  });
}
