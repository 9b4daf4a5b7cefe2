/**
 * Which address a connection is from (`listen.trustProxy`, docs/PROTOCOL.md §1). Without trusted proxies, the TCP
 * peer. When the peer is a trusted proxy, the chain it reports is walked from the nearest hop outwards: the PROXY
 * protocol v2 source address (uWS parses a v2 header on any connection, so it is believed only from a trusted peer),
 * then the `X-Forwarded-For` entries from right to left; the first address that is not itself a trusted proxy is the
 * client. A malformed entry ends the walk at the last trusted hop, so garbage a client prepends cannot pick the address.
 * This build of uWS does not parse PROXY v1 (a v1 line gets uWS's 505).
 */
import { normalizeAddress, type TrustedProxies } from '../core/ip-address.ts';

/** The client address of a connection whose TCP peer is `peer`; `proxied` is the PROXY v2 source ('' when none). */
export function clientAddress(trusted: TrustedProxies, peer: string, proxied: string, forwardedFor: string): string {
  let address = normalizeAddress(peer) ?? peer;
  if (!trusted.has(address)) return address;
  if (proxied !== '') {
    const source = normalizeAddress(proxied);
    if (source === undefined) return address;
    address = source;
    if (!trusted.has(address)) return address;
  }
  if (forwardedFor === '') return address;
  const hops = forwardedFor.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i]!);
    if (hop === undefined) return address;
    address = hop;
    if (!trusted.has(address)) return address;
  }
  return address;
}
