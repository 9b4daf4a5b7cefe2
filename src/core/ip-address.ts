/**
 * Client addresses as the limits see them: the trusted-proxy list (`listen.trustProxy`: addresses and CIDRs, checked
 * once at start), the normal form of an address uWS or a proxy reports, and the key a per-IP limit counts under.
 */
import { BlockList, isIP, isIPv4 } from 'node:net';
import { ConfigError } from './errors.ts';

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * An address in the form the limits and logs use: IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a dual-stack socket
 * reports) as the IPv4 address, IPv6 in lower case, without brackets or a zone. undefined when it is not an address.
 */
export function normalizeAddress(text: string): string | undefined {
  let address = text.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  const mapped = MAPPED_V4.exec(address);
  if (mapped !== null) address = mapped[1]!;
  const family = isIP(address);
  if (family === 0) return undefined;
  return family === 6 ? address.toLowerCase() : address;
}

/**
 * The key a per-IP limit counts under: the IPv4 address, or the /64 prefix of an IPv6 one. One subscriber line gets a
 * whole /64, so counting IPv6 addresses one by one would give each client 2^64 budgets.
 */
export function limitKey(address: string): string {
  if (isIPv4(address)) return address;
  const halves = address.split('::');
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length > 1 && halves[1] !== '' ? halves[1]!.split(':') : [];
  // An embedded IPv4 tail (::1.2.3.4) is two groups; it sits past the /64 either way.
  const groups = [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

interface ParsedRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

function parseRange(text: string): ParsedRange | undefined {
  const slash = text.indexOf('/');
  const address = normalizeAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === undefined) return undefined;
  const family = isIPv4(address) ? 'ipv4' : 'ipv6';
  const bits = family === 'ipv4' ? 32 : 128;
  if (slash < 0) return { address, prefix: bits, family };
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
  return { address, prefix: Number(prefixText), family };
}

/** Checks `listen.trustProxy` at start: each entry an address or a CIDR, the bad one named by its index. */
export function validateTrustedProxies(list: readonly string[], field: string): void {
  list.forEach((entry, i) => {
    if (parseRange(entry) === undefined) throw new ConfigError(`${field}[${i}]`, `must be an IP address or CIDR (10.0.0.0/8, fd00::/8), got ${JSON.stringify(entry)}`);
  });
}

/** The proxies whose word on the client address is taken (`listen.trustProxy`). */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly size: number;

  /** @param ranges already validated (validateTrustedProxies) */
  constructor(ranges: readonly string[]) {
    for (const text of ranges) {
      const range = parseRange(text)!;
      this.#list.addSubnet(range.address, range.prefix, range.family);
    }
    this.size = ranges.length;
  }

  /** Whether `address` (normal form, normalizeAddress) is a trusted proxy. */
  has(address: string): boolean {
    return this.size > 0 && this.#list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  }
}
