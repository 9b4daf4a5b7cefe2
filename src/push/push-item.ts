/**
 * One push, as the push paths (gRPC, HTTP, Redis) hand it to workers: a target (session, user or topic), the frame
 * header fields and the payload. Validated once where it enters the gateway; workers trust it.
 */
import { Packr } from 'msgpackr';
import { isServerFrame, MAX_PAYLOAD_BYTES } from '../protocol/frame.ts';
import { MAX_TOPIC_BYTES } from '../protocol/control.ts';

export const Target = { SESSION: 0, USER: 1, TOPIC: 2 } as const;
export type TargetValue = (typeof Target)[keyof typeof Target];

export interface PushItem {
  /** Target kind. */
  t: TargetValue;
  /** Session id (decimal string, as published to Redis), user id or topic. */
  k: string;
  /** A session target's id words (session-id.ts), what the owning worker looks it up by; 0 for other targets. */
  l: number;
  h: number;
  /** msgId */
  m: number;
  /** serverId */
  s: number;
  /** payload */
  p: Uint8Array;
  /**
   * When the push API took it, for the push stage histogram (performance.timeOrigin + performance.now(), which
   * compares across threads): set on one push in `metrics.stageSampleEvery` by the PushRouter; 0 for the rest.
   */
  a: number;
}

/** The fields of a Push message (proto/push.proto) or an HTTP push, before validation. */
export interface PushInput {
  sessionId?: string | number | bigint | null;
  userId?: string | null;
  topic?: string | null;
  msgId?: number;
  serverId?: number;
  payload?: Uint8Array | null;
}

const MAX_SESSION_ID = (1n << 64n) - 1n;
const MAX_KEY_BYTES = 256;

/** A valid PushItem, or undefined (the push is dropped and counted as invalid). Exactly one target must be set. */
export function toPushItem(input: PushInput): PushItem | undefined {
  // Inputs come from HTTP bodies too: check every type, never trust the declared one.
  const msgId = input.msgId ?? 0;
  const serverId = input.serverId ?? 0;
  const payload = input.payload ?? new Uint8Array(0);
  const { sessionId, userId, topic } = input as { sessionId: unknown; userId: unknown; topic: unknown };
  if (!Number.isInteger(msgId) || msgId < 0 || msgId > 0xffff) return undefined;
  if (!Number.isInteger(serverId) || serverId < 0 || serverId > 0xffffffff || !isServerFrame(serverId)) return undefined;
  if (!(payload instanceof Uint8Array) || payload.byteLength > MAX_PAYLOAD_BYTES) return undefined;
  const hasSession = sessionId !== undefined && sessionId !== null && sessionId !== '';
  const hasUser = userId !== undefined && userId !== null && userId !== '';
  const hasTopic = topic !== undefined && topic !== null && topic !== '';
  if ((hasSession ? 1 : 0) + (hasUser ? 1 : 0) + (hasTopic ? 1 : 0) !== 1) return undefined;
  if ((hasUser && typeof userId !== 'string') || (hasTopic && typeof topic !== 'string')) return undefined;
  if (hasSession) {
    if (typeof sessionId !== 'string' && typeof sessionId !== 'bigint' && !(typeof sessionId === 'number' && Number.isSafeInteger(sessionId))) return undefined;
    if (typeof sessionId === 'string' && !/^[0-9]{1,20}$/.test(sessionId)) return undefined;
    const id = BigInt(sessionId);
    if (id <= 0n || id > MAX_SESSION_ID) return undefined;
    return { t: Target.SESSION, k: id.toString(), l: Number(id & 0xffff_ffffn) | 0, h: Number(id >> 32n) | 0, m: msgId, s: serverId, p: payload, a: 0 };
  }
  if (input.userId) {
    if (Buffer.byteLength(input.userId) > MAX_KEY_BYTES) return undefined;
    return keyedItem(Target.USER, input.userId, msgId, serverId, payload);
  }
  if (Buffer.byteLength(input.topic!) > MAX_TOPIC_BYTES) return undefined;
  return keyedItem(Target.TOPIC, input.topic!, msgId, serverId, payload);
}

/** A user or topic push (already validated). */
export function keyedItem(t: typeof Target.USER | typeof Target.TOPIC, k: string, m: number, s: number, p: Uint8Array): PushItem {
  return { t, k, l: 0, h: 0, m, s, p, a: 0 };
}

const U64_DECIMAL = /^[0-9]{1,20}$/;

/** A session push from a Redis envelope: undefined unless `id` is a decimal unsigned 64-bit id. */
export function sessionItem(id: string, m: number, s: number, p: Uint8Array): PushItem | undefined {
  if (!U64_DECIMAL.test(id)) return undefined;
  const value = BigInt(id);
  if (value > MAX_SESSION_ID) return undefined;
  return { t: Target.SESSION, k: id, l: Number(value & 0xffff_ffffn) | 0, h: Number(value >> 32n) | 0, m, s, p, a: 0 };
}

// Thread messages: one msgpack buffer per batch (records: the item shape is sent once per buffer).
const packr = new Packr({ useRecords: true, moreTypes: false });

/**
 * Packs a batch into its own buffer. msgpackr returns a view on its shared pack buffer; posting that view would copy the
 * whole underlying buffer to the worker, so the packed bytes are copied out (and can then be transferred, not cloned).
 */
export function packItems(items: readonly PushItem[]): Uint8Array {
  return Uint8Array.prototype.slice.call(packr.pack(items));
}

export function unpackItems(bytes: Uint8Array): PushItem[] {
  return packr.unpack(bytes) as PushItem[];
}
