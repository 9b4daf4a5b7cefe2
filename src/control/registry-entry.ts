/**
 * The gateway registry's formats (docs/PROTOCOL.md, "Gateway registry"), shared by the gateway that writes them, the push client and
 * `actorgate instances` that read them:
 *
 *   <prefix>instance:<nodeId>   a JSON `InstanceEntry`, with a TTL its instance refreshes (`registry.ttlMs`)
 *   <prefix>instances           pub/sub channel: a JSON `InstanceAnnouncement` at every join, state change and leave
 *
 * Keyed by node id: node ids are unique among live instances (leased, or configured), and a push client reads the
 * owner of a session from its id, so a session push finds its gateway's entry with one key.
 */

export type InstanceState = 'starting' | 'running' | 'draining';

export const INSTANCE_STATES: readonly InstanceState[] = Object.freeze(['starting', 'running', 'draining']);

/** What one live gateway instance publishes about itself. */
export interface InstanceEntry {
  /** Format version of this document: 1. */
  readonly v: 1;
  /** Random per process start: tells a restarted instance (same node id) from its predecessor. */
  readonly id: string;
  /** The gateway's `name`. */
  readonly name: string;
  readonly nodeId: number;
  /** Where clients connect (`ws://host:port/`, `wss://…`). */
  readonly clientUrls: readonly string[];
  /** `host:port` of its GatewayPush gRPC server; null when the push port is off. */
  readonly pushAddress: string | null;
  /** Whether the push port serves TLS (`push.tls`). */
  readonly pushTls: boolean;
  readonly workers: number;
  /** Open sessions, as of `updatedAt`. */
  readonly sessions: number;
  readonly state: InstanceState;
  /** Unix milliseconds. */
  readonly startedAt: number;
  /** Unix milliseconds of the last refresh. */
  readonly updatedAt: number;
}

export type InstanceEvent = 'join' | 'state' | 'leave';

/** Published on `<prefix>instances`; `leave` carries the entry as it was last written. */
export interface InstanceAnnouncement {
  readonly event: InstanceEvent;
  readonly instance: InstanceEntry;
}

export function instanceKey(prefix: string, nodeId: number): string {
  return `${prefix}instance:${nodeId}`;
}

/** The SCAN pattern of every entry under `prefix` (glob characters in the prefix escaped). */
export function instanceKeyPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}instance:*`;
}

export function instancesChannel(prefix: string): string {
  return `${prefix}instances`;
}

const isInt = (value: unknown, min: number, max: number): value is number => typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

/** The JSON object `text` holds, or undefined (not JSON, or not an object). */
function jsonObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** `value` as a version-1 entry, or undefined. */
function instanceEntry(e: Record<string, unknown> | undefined): InstanceEntry | undefined {
  if (e === undefined) return undefined;
  if (e.v !== 1 || typeof e.id !== 'string' || typeof e.name !== 'string' || !isInt(e.nodeId, 0, 0x1fff)) return undefined;
  if (!Array.isArray(e.clientUrls) || !e.clientUrls.every((u) => typeof u === 'string')) return undefined;
  if (e.pushAddress !== null && typeof e.pushAddress !== 'string') return undefined;
  if (typeof e.pushTls !== 'boolean' || !isInt(e.workers, 0, 64) || !isInt(e.sessions, 0, Number.MAX_SAFE_INTEGER)) return undefined;
  if (!INSTANCE_STATES.includes(e.state as InstanceState) || !isInt(e.startedAt, 0, Number.MAX_SAFE_INTEGER) || !isInt(e.updatedAt, 0, Number.MAX_SAFE_INTEGER)) return undefined;
  return e as unknown as InstanceEntry;
}

/** Parses an entry; undefined when the text is not a version-1 entry (a reader skips it). */
export function parseInstanceEntry(text: string): InstanceEntry | undefined {
  return instanceEntry(jsonObject(text));
}

export function parseAnnouncement(text: string): InstanceAnnouncement | undefined {
  const value = jsonObject(text);
  if (value === undefined) return undefined;
  const { event, instance } = value;
  if (event !== 'join' && event !== 'state' && event !== 'leave') return undefined;
  const entry = instanceEntry(typeof instance === 'object' && instance !== null && !Array.isArray(instance) ? (instance as Record<string, unknown>) : undefined);
  return entry === undefined ? undefined : { event, instance: entry };
}
