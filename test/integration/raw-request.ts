/**
 * Upgrade requests written on a raw TCP socket, for the tests of how a request's bytes arrive: in one write, in
 * pieces, or never complete. Reports the status line and JSON body the gateway (or uWS itself) answered with, and
 * when the connection was closed.
 */
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface RawAnswer {
  /** 0 when the connection closed without an answer. */
  status: number;
  /** The body's JSON `code`, when the body is the gateway's JSON refusal. */
  code: number | undefined;
  /** Milliseconds from connect to the connection's close. */
  closedAfterMs: number;
}

/** The head of an upgrade request to `target` with extra header lines. */
export function upgradeHead(target: string, extra: string[] = []): Buffer {
  const lines = [`GET ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', ...extra];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** `bytes` cut into pieces of `size` bytes; the first piece is `first` bytes when given (to keep a request line whole). */
export function pieces(bytes: Buffer, size: number, first = size): Buffer[] {
  const out = [bytes.subarray(0, first)];
  for (let at = first; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

/**
 * Writes `chunks` with `gapMs` between them (each lands in its own read), then waits for the answer and the close,
 * up to `deadlineMs`. A 101 is answered by closing at once.
 */
export function rawRequest(port: number, chunks: Buffer[], options: { gapMs?: number; deadlineMs?: number } = {}): Promise<RawAnswer> {
  const { gapMs = 15, deadlineMs = 15_000 } = options;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${deadlineMs} ms; received ${JSON.stringify(received.toString('latin1').slice(0, 80))}`));
    }, deadlineMs);
    socket.on('connect', async () => {
      for (const [i, chunk] of chunks.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
        if (socket.destroyed) return;
        socket.write(chunk);
      }
    });
    socket.on('data', (data) => {
      received = Buffer.concat([received, data]);
      if (received.toString('latin1').startsWith('HTTP/1.1 101')) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = received.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      let code: number | undefined;
      try {
        code = body.startsWith('{') ? (JSON.parse(body) as { code?: number }).code : undefined;
      } catch {
        code = undefined;
      }
      resolve({ status: status === null ? 0 : Number(status[1]), code, closedAfterMs: performance.now() - started });
    });
  });
}
