/**
 * Client addresses as the limits see them: the trusted-proxy list (`listen.trustProxy`: addresses and CIDRs, checked
 * once at start), the normal form of an address uWS or a proxy reports, and the key a per-IP limit counts under.
 */
import { BlockList, isIP, isIPv4 } from 'node:net';
import { ConfigError } from './errors.ts';

/** An IPv4-mapped IPv6 address (::ffff:0:0/96) in the canonical hex spelling URL serialisation gives it. */
const MAPPED_V4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/** One canonical spelling (RFC 5952: lower case, zeros compressed) of a valid IPv6 address. */
function canonicalIPv6(address: string): string {
  return new URL(`http://[${address}]`).hostname.slice(1, -1);
}

/**
 * An address in the form the limits and logs use: IPv4-mapped IPv6 in any spelling (`::ffff:10.0.0.1`, or uWS's
 * expanded `0000:0000:0000:0000:0000:ffff:0a00:0001` for an IPv4 client of a dual-stack socket) as the IPv4 address,
 * other IPv6 in its canonical spelling, without brackets or a zone. undefined when it is not an address.
 */
export function normalizeAddress(text: string): string | undefined {
  let address = text.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  const family = isIP(address);
  if (family === 0) return undefined;
  if (family === 4) return address;
  const canonical = canonicalIPv6(address);
  const mapped = MAPPED_V4.exec(canonical);
  if (mapped === null) return canonical;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/** The address of a uWS connection's raw form (`getRemoteAddress()`: 4 or 16 bytes), normalized as above. */
export function addressFromBytes(raw: ArrayBuffer): string {
  const bytes = new Uint8Array(raw);
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return normalizeAddress(groups.join(':')) ?? '';
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
  // An embedded IPv4 tail (::1.2.3.4) counts as one group here; it sits past the /64 either way.
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
