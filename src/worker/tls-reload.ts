/**
 * A worker's part of a TLS reload: check `listen.tls`'s files again here (uWS's SSLApp checks neither that the key
 * fits the certificate nor, for a bad file, says which), then let the transport serve new handshakes with them.
 */
import { errorToWire, type WireError } from '../core/errors.ts';
import { loadTls, type ResolvedTls } from '../core/options-tls.ts';
import type { ClientTransport } from './client-transport.ts';

export function reloadTransportTls(transport: ClientTransport | undefined, tls: ResolvedTls | null): { reloaded: boolean; error?: WireError } {
  if (tls === null || transport === undefined) return { reloaded: false };
  try {
    loadTls(tls, 'listen.tls');
    return { reloaded: transport.reloadTls(tls) };
  } catch (err) {
    return { reloaded: false, error: errorToWire(err) };
  }
}
