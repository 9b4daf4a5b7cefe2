/**
 * Redis pub/sub channels and the envelope published on them (docs/PROTOCOL.md, "Redis fan-out").
 *
 *   <prefix>topic:<topic>               every gateway worker with a local subscriber of <topic>
 *   <prefix>user:<userId>               every gateway worker with a local session bound to <userId>
 *   <prefix>session:<nodeId>:<worker>   the one worker that owns sessions with that node id and worker index
 *
 * The envelope is a plain msgpack map, so any language can publish: { msgId: uint, serverId: uint, payload: bin,
 * session?: str (session channels), origin?: uint (the publishing gateway's node id) }. A worker's health probe, which
 * it publishes on its own session channel, is the map { probe: uint, origin: uint } and reaches no client.
 *
 * On a Redis Cluster the same names are sharded channels (SSUBSCRIBE/SPUBLISH): each lives on the shard owning its
 * slot (CRC16 of the whole name; no hash tags), so channels spread over the masters.
 */
import { Packr } from 'msgpackr';
import { isServerFrame, MAX_PAYLOAD_BYTES } from '../protocol/frame.ts';
import { Target, type PushItem } from '../push/push-item.ts';

export function topicChannel(prefix: string, topic: string): string {
  return `${prefix}topic:${topic}`;
}

export function userChannel(prefix: string, userId: string): string {
  return `${prefix}user:${userId}`;
}

export function sessionChannel(prefix: string, nodeId: number, worker: number): string {
  return `${prefix}session:${nodeId}:${worker}`;
}

export function channelOf(prefix: string, item: PushItem, nodeId: number, worker: number): string {
  if (item.t === Target.TOPIC) return topicChannel(prefix, item.k);
  if (item.t === Target.USER) return userChannel(prefix, item.k);
  return sessionChannel(prefix, nodeId, worker);
}

export interface Envelope {
  msgId: number;
  serverId: number;
  payload: Uint8Array;
  session?: string;
  origin?: number;
}

// Plain maps (no records): readable by any msgpack implementation.
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export function encodeEnvelope(item: PushItem, origin: number): Buffer {
  const envelope: Envelope = { msgId: item.m, serverId: item.s, payload: item.p, origin };
  if (item.t === Target.SESSION) envelope.session = item.k;
  return packr.pack(envelope);
}

/**
 * The largest message that can be an envelope: the largest payload plus room for the keys, header fields, a session id
 * and an origin. Checked before decoding, so a huge message published by anyone costs nothing to refuse (msgpack
 * lets a few bytes ask for a large array: a 64 MiB message of nils takes seconds and a gigabyte to decode).
 */
export const MAX_ENVELOPE_BYTES = MAX_PAYLOAD_BYTES + 1024;

/** Decodes an envelope; undefined when it is not one (counted by the caller). */
export function decodeEnvelope(bytes: Buffer): Envelope | undefined {
  if (bytes.byteLength > MAX_ENVELOPE_BYTES) return undefined;
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { msgId = 0, serverId = 0, payload, session, origin } = value as Record<string, unknown>;
  if (typeof msgId !== 'number' || !Number.isInteger(msgId) || msgId < 0 || msgId > 0xffff) return undefined;
  if (typeof serverId !== 'number' || !Number.isInteger(serverId) || serverId < 0 || serverId > 0xffffffff || !isServerFrame(serverId)) return undefined;
  if (!(payload instanceof Uint8Array) || payload.byteLength > MAX_PAYLOAD_BYTES) return undefined;
  if (session !== undefined && typeof session !== 'string') return undefined;
  return { msgId, serverId, payload, session: session as string | undefined, origin: typeof origin === 'number' ? origin : undefined };
}

/** A worker's self-addressed health probe: `seq` numbers it, `origin` is the node id. */
export function encodeProbe(seq: number, origin: number): Buffer {
  return packr.pack({ probe: seq, origin });
}

/** The probe's number, or undefined when `bytes` are not a probe. */
export function decodeProbe(bytes: Buffer): number | undefined {
  if (bytes.byteLength > 64) return undefined;
  try {
    const value = packr.unpack(bytes) as Record<string, unknown> | null;
    const probe = typeof value === 'object' && value !== null ? value.probe : undefined;
    return typeof probe === 'number' && Number.isInteger(probe) && probe >= 0 ? probe : undefined;
  } catch {
    return undefined;
  }
}
