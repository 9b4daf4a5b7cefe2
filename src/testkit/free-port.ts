/**
 * A TCP port that was free a moment ago on 127.0.0.1: bound once with port 0, then released. Good for a server a test
 * starts itself (redis-server, a gateway process), and for a port nothing listens on. Another process may take it in
 * between; rigs that need certainty let the server bind port 0 itself.
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
