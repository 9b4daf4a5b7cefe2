/**
 * The admin server's transport: node:http, or node:https with `admin.tls`. A reload swaps the secure context of the
 * listening server (`setSecureContext`): new handshakes use the new certificate, established connections keep theirs.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions } from 'node:https';
import type { TlsMaterial } from '../core/options-tls.ts';

export type AdminHttpServer = Server | HttpsServer;

/** The secure-context options of `tls`: with a CA, clients must present a certificate it verifies. */
export function secureOptions(tls: TlsMaterial): ServerOptions {
  const options: ServerOptions = { cert: tls.cert, key: tls.plainKey };
  if (tls.ca !== null) Object.assign(options, { ca: tls.ca, requestCert: true, rejectUnauthorized: true });
  return options;
}

export function createAdminHttpServer(tls: TlsMaterial | null, listener: RequestListener): AdminHttpServer {
  return tls === null ? createServer(listener) : createHttpsServer(secureOptions(tls), listener);
}

/** Serves new handshakes with `tls`; false for a plain-HTTP server. */
export function reloadAdminTls(server: AdminHttpServer, tls: TlsMaterial): boolean {
  if (!('setSecureContext' in server)) return false;
  server.setSecureContext(secureOptions(tls));
  return true;
}
