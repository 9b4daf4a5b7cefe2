/** A raw WebSocket upgrade request for tests of refused upgrades: the status, headers and JSON body a client sees. */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';

export interface Attempt {
  status: number;
  body: { code?: number; name?: string; reason?: string };
  headers: Record<string, string | string[] | undefined>;
}

/** One upgrade request on a raw HTTP connection: 101 (the socket is dropped at once) or the refusal and its JSON body. */
export function attempt(port: number, path = '/', headers: Record<string, string> = {}): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), ...headers },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: 101, body: {}, headers: res.headers });
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text.startsWith('{') ? JSON.parse(text) : { reason: text }, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
