/**
 * Decoding half of the gateway's PacketBatch codec (see packet-codec.ts): yields the Packet shape proto-loader gives
 * (`defaults: true`, `longs: String`, `enums: Number`): every field present, the session id as a decimal string,
 * `payload` a view of the received Buffer (no copy). Id strings come from a small direct-mapped cache keyed by the
 * id's 64 bits, so a session's packets share one string and the decimal conversion runs only on a miss. Unknown
 * fields are skipped by their wire type, groups included, and so is a known field with an unexpected wire type.
 * Truncated or malformed input throws a PacketCodecError; grpc-js turns a deserializer's throw into a stream error.
 */
import { PacketCodecError } from '../core/errors.ts';
import type { Packet, PacketBatch, PacketKindValue } from './proto.ts';
import { TAG_PACKETS, TAG_SESSION_ID, TAG_MSG_ID, TAG_SERVER_ID, TAG_PAYLOAD, TAG_KIND, TAG_TRACEPARENT, TAG_CODE, TAG_REASON, TAG_TOPIC, TAG_USER_ID, TAG_PATH, TAG_REMOTE_ADDRESS, EMPTY, MAX_GROUP_DEPTH } from './packet-wire.ts';

/** The position after the last varint read (readVarint's second result). */
let cursor = 0;

function truncated(at: number): PacketCodecError {
  return new PacketCodecError(`malformed PacketBatch: truncated at byte ${at}`);
}

function malformed(at: number, what: string): PacketCodecError {
  return new PacketCodecError(`malformed PacketBatch at byte ${at}: ${what}`);
}

function readVarintSlow(buf: Buffer, pos: number, end: number): number {
  let value = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= end) throw truncated(pos);
    const byte = buf[pos++]!;
    // Bits past 32 are dropped, as protobufjs's uint32() does (an int32 written as a 10-byte varint keeps its value).
    if (shift < 32) value |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      cursor = pos;
      return value >>> 0;
    }
  }
  throw malformed(pos, 'varint longer than 10 bytes');
}

/** The low 32 bits of the varint at `pos`, unsigned; `cursor` is set past it. */
function readVarint(buf: Buffer, pos: number, end: number): number {
  if (pos < end) {
    const byte = buf[pos]!;
    if (byte < 0x80) {
      cursor = pos + 1;
      return byte;
    }
  }
  return readVarintSlow(buf, pos, end);
}

/** A length prefix at `pos`, checked against `end`; `cursor` is set past the prefix. */
function readLength(buf: Buffer, pos: number, end: number): number {
  const length = readVarint(buf, pos, end);
  if (length > end - cursor) throw truncated(end);
  return length;
}

/** Skips the field whose tag was just read (the value starts at `pos`); returns the position after it. */
function skipField(buf: Buffer, pos: number, end: number, tag: number, depth: number): number {
  const field = tag >>> 3;
  if (field === 0) throw malformed(pos, 'field number 0');
  switch (tag & 7) {
    case 0:
      readVarint(buf, pos, end);
      return cursor;
    case 1:
      if (end - pos < 8) throw truncated(end);
      return pos + 8;
    case 2: {
      const length = readLength(buf, pos, end);
      return cursor + length;
    }
    case 5:
      if (end - pos < 4) throw truncated(end);
      return pos + 4;
    case 3:
      if (depth >= MAX_GROUP_DEPTH) throw malformed(pos, 'groups nested too deep');
      for (;;) {
        const inner = readVarint(buf, pos, end);
        pos = cursor;
        if ((inner & 7) === 4) {
          if (inner >>> 3 !== field) throw malformed(pos, `group ${field} ended by field ${inner >>> 3}`);
          return pos;
        }
        pos = skipField(buf, pos, end, inner, depth + 1);
      }
    default:
      // 4: an end-group without its start; 6 and 7 do not exist.
      throw malformed(pos, `wire type ${tag & 7} (field ${field})`);
  }
}

// The id string cache: direct-mapped, 16,384 entries (about 200 KB, plus the strings of ids no longer in use until
// their slots are reused); an entry holds one id's words and its decimal string. It starts full of id 0, which is
// correct for (0, 0). A slot is taken by the id last seen there: with N sessions exchanging packets, a session's id
// is still cached with a probability of about e^(−N/16384).
const ID_CACHE_BITS = 14;
const idCacheLo = new Int32Array(1 << ID_CACHE_BITS);
const idCacheHi = new Int32Array(1 << ID_CACHE_BITS);
const idCacheString = new Array<string>(1 << ID_CACHE_BITS).fill('0');

function idCacheSlot(lo: number, hi: number): number {
  return Math.imul(lo ^ hi, 0x9e37_79b1) >>> (32 - ID_CACHE_BITS);
}

/** Caches `id` as the string of (lo, hi), both as int32. */
export function cacheSessionId(lo: number, hi: number, id: string): void {
  const slot = idCacheSlot(lo, hi);
  idCacheLo[slot] = lo;
  idCacheHi[slot] = hi;
  idCacheString[slot] = id;
}

/**
 * The decimal string of hi·2³² + lo (unsigned 32-bit words). BigInt, measured against decimal limbs in Smi-sized
 * chunks: about as fast to format, and its string is flat, which the shard's Map lookup then hashes without first
 * flattening a concatenation (the limbs' result cost about twice as much once looked up).
 */
function formatUint64(lo: number, hi: number): string {
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** The decimal string of the session id (lo, hi), both as int32 (as read from the wire). */
function sessionIdString(lo: number, hi: number): string {
  const slot = idCacheSlot(lo, hi);
  if (idCacheLo[slot] === lo && idCacheHi[slot] === hi) return idCacheString[slot]!;
  const id = formatUint64(lo >>> 0, hi >>> 0);
  cacheSessionId(lo, hi, id);
  return id;
}

function decodePacket(buf: Buffer, pos: number, end: number): Packet {
  let lo = 0;
  let hi = 0;
  let msgId = 0;
  let serverId = 0;
  let payload: Buffer = EMPTY;
  let kind = 0;
  let traceparent = '';
  let code = 0;
  let reason = '';
  let topic = '';
  let userId = '';
  let path = '';
  let remoteAddress = '';
  while (pos < end) {
    const tag = readVarint(buf, pos, end);
    pos = cursor;
    let length = 0;
    switch (tag) {
      case TAG_SESSION_ID:
        if (end - pos < 8) throw truncated(end);
        lo = buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24);
        hi = buf[pos + 4]! | (buf[pos + 5]! << 8) | (buf[pos + 6]! << 16) | (buf[pos + 7]! << 24);
        pos += 8;
        break;
      case TAG_MSG_ID:
        msgId = readVarint(buf, pos, end);
        pos = cursor;
        break;
      case TAG_SERVER_ID:
        serverId = readVarint(buf, pos, end);
        pos = cursor;
        break;
      case TAG_PAYLOAD:
        length = readLength(buf, pos, end);
        pos = cursor;
        payload = length === 0 ? EMPTY : buf.subarray(pos, pos + length);
        pos += length;
        break;
      case TAG_KIND:
        // An enum is an int32 on the wire; proto-loader (enums: Number) hands over unknown values as they are.
        kind = readVarint(buf, pos, end) | 0;
        pos = cursor;
        break;
      case TAG_CODE:
        code = readVarint(buf, pos, end);
        pos = cursor;
        break;
      case TAG_TRACEPARENT:
      case TAG_REASON:
      case TAG_TOPIC:
      case TAG_USER_ID:
      case TAG_PATH:
      case TAG_REMOTE_ADDRESS: {
        length = readLength(buf, pos, end);
        pos = cursor;
        const text = buf.toString('utf8', pos, pos + length);
        pos += length;
        if (tag === TAG_TRACEPARENT) traceparent = text;
        else if (tag === TAG_REASON) reason = text;
        else if (tag === TAG_TOPIC) topic = text;
        else if (tag === TAG_USER_ID) userId = text;
        else if (tag === TAG_PATH) path = text;
        else remoteAddress = text;
        break;
      }
      default:
        pos = skipField(buf, pos, end, tag, 0);
    }
  }
  return {
    sessionId: sessionIdString(lo, hi),
    msgId,
    serverId,
    payload,
    kind: kind as PacketKindValue,
    traceparent,
    code,
    reason,
    topic,
    userId,
    path,
    remoteAddress,
  };
}

/**
 * Parses a PacketBatch. Packets are plain objects with every field set (proto3 defaults for absent ones); a payload
 * is a view of `buf`. Throws a PacketCodecError for truncated or malformed input.
 */
export function decodePacketBatch(buf: Buffer): PacketBatch {
  const packets: Packet[] = [];
  const end = buf.length;
  let pos = 0;
  while (pos < end) {
    const tag = readVarint(buf, pos, end);
    pos = cursor;
    if (tag === TAG_PACKETS) {
      const length = readLength(buf, pos, end);
      pos = cursor;
      packets.push(decodePacket(buf, pos, pos + length));
      pos += length;
    } else {
      pos = skipField(buf, pos, end, tag, 0);
    }
  }
  return { packets };
}
