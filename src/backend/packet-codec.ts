/**
 * The gateway's own protobuf codec for the PacketBatch of GameGateway.StreamPackets (proto/gateway.proto), used on
 * the gateway's client side in place of proto-loader's generic one. That one turns every packet into a protobufjs
 * message and back and every fixed64 session id into decimal string ⇄ Long ⇄ bytes: about a fifth of a worker's CPU
 * under load. The wire format is the proto's, so backends keep whatever codec they use.
 *
 * Encoding writes one exact-size Buffer per batch in two passes (sizes, then bytes), fields in field-number order,
 * proto3 defaults (0, '', empty bytes) omitted. A packet's 64-bit session id comes from `sessionIdLo`/`sessionIdHi`,
 * which the worker caches on each Session, so no packet pays a decimal → 64-bit conversion; a packet without them has
 * its `sessionId` parsed.
 *
 * Decoding yields the Packet shape proto-loader gives (`defaults: true`, `longs: String`, `enums: Number`): every
 * field present, the session id as a decimal string, `payload` a view of the received Buffer (no copy). Id strings
 * come from a small direct-mapped cache keyed by the id's 64 bits, so a session's packets share one string (its hash
 * is computed once for the shard's Map) and the decimal conversion runs only on a miss. Unknown fields are skipped by
 * their wire type, groups included, and so is a known field with an unexpected wire type. Truncated or malformed
 * input throws a PacketCodecError; grpc-js turns a deserializer's throw into a stream error (INTERNAL).
 */
import { PacketCodecError } from '../core/errors.ts';
import type { Packet, PacketBatch, PacketKindValue } from './proto.ts';

const EMPTY = Buffer.alloc(0);

// Tags (field number << 3 | wire type), all one byte.
const TAG_PACKETS = 0x0a; // PacketBatch.packets = 1, length-delimited
const TAG_SESSION_ID = 0x09; // 1, fixed64
const TAG_MSG_ID = 0x10; // 2, varint
const TAG_SERVER_ID = 0x18; // 3, varint
const TAG_PAYLOAD = 0x22; // 4, length-delimited
const TAG_KIND = 0x28; // 5, varint
const TAG_TRACEPARENT = 0x32; // 6
const TAG_CODE = 0x38; // 7, varint
const TAG_REASON = 0x42; // 8
const TAG_TOPIC = 0x4a; // 9
const TAG_USER_ID = 0x52; // 10
const TAG_PATH = 0x5a; // 11
const TAG_REMOTE_ADDRESS = 0x62; // 12

/** Nested groups a skipped unknown field may hold (protobuf's own recursion limit is 100). */
const MAX_GROUP_DEPTH = 32;

// Encoding ---------------------------------------------------------------------------------------------------------

// Scratch shared by the two passes of one encode (encoding is synchronous, so one set per thread suffices): each
// packet's body length and session id words, and each non-empty string's UTF-8 length in the order written.
let bodyLengths = new Int32Array(64);
let idLos = new Int32Array(64);
let idHis = new Int32Array(64);
let stringLengths = new Int32Array(64);
let stringsMeasured = 0;
let stringsWritten = 0;
// parseSessionId's result.
let parsedLo = 0;
let parsedHi = 0;

const U64_DECIMAL = /^[0-9]{1,20}$/;
const U64_MAX = (1n << 64n) - 1n;

/** Sets parsedLo/parsedHi from a decimal session id (absent: 0). Only for packets without cached words. */
function parseSessionId(id: string | undefined): void {
  if (id === undefined || id === '0') {
    parsedLo = 0;
    parsedHi = 0;
    return;
  }
  const value = U64_DECIMAL.test(id) ? BigInt(id) : -1n;
  if (value < 0n || value > U64_MAX) throw new PacketCodecError(`cannot encode session id '${id}': not an unsigned 64-bit decimal`);
  parsedLo = Number(value & 0xffff_ffffn);
  parsedHi = Number(value >> 32n);
}

/**
 * A session id's low and high 32 bits (unsigned), to cache as a packet's `sessionIdLo`/`sessionIdHi`. Also primes the
 * decoder's id cache with `id` itself, so the session's packets from backends decode to the very string the shard
 * holds (hash already computed, no second copy).
 */
export function splitSessionId(id: string): { lo: number; hi: number } {
  parseSessionId(id);
  cacheSessionId(parsedLo | 0, parsedHi | 0, id);
  return { lo: parsedLo, hi: parsedHi };
}

function varintBytes(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x20_0000 ? 3 : value < 0x1000_0000 ? 4 : 5;
}

/** Writes an unsigned 32-bit varint; returns the position after it. */
function writeVarint(buf: Buffer, pos: number, value: number): number {
  while (value > 0x7f) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos++] = value;
  return pos;
}

function grown(array: Int32Array, least: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(Math.max(least, array.length * 2));
  next.set(array);
  return next;
}

/** A string field's wire bytes (tag, length, UTF-8), recording its length for the second pass; 0 when empty. */
function measureString(value: string | undefined): number {
  if (!value) return 0;
  const length = Buffer.byteLength(value);
  if (stringsMeasured === stringLengths.length) stringLengths = grown(stringLengths, stringsMeasured + 1);
  stringLengths[stringsMeasured++] = length;
  return 1 + varintBytes(length) + length;
}

/** Wire bytes of a uint32 field (proto-loader's fromObject coerces with `>>> 0`; so does the writer). */
function measureUint32(value: number | undefined): number {
  const v = (value ?? 0) >>> 0;
  return v === 0 ? 0 : 1 + varintBytes(v);
}

/** First pass: the packet's body length; records its session id words at `i`. */
function measurePacket(packet: Packet, i: number): number {
  let lo = packet.sessionIdLo;
  let hi = packet.sessionIdHi;
  if (lo === undefined || hi === undefined) {
    parseSessionId(packet.sessionId);
    lo = parsedLo;
    hi = parsedHi;
  }
  idLos[i] = lo;
  idHis[i] = hi;
  let size = (lo | hi) === 0 ? 0 : 9;
  size += measureUint32(packet.msgId) + measureUint32(packet.serverId) + measureUint32(packet.kind) + measureUint32(packet.code);
  // `length`, not `byteLength`: the same for a Uint8Array, and V8's byteLength getter costs several times more.
  const payloadLength = packet.payload === undefined ? 0 : packet.payload.length;
  if (payloadLength > 0) size += 1 + varintBytes(payloadLength) + payloadLength;
  size += measureString(packet.traceparent);
  size += measureString(packet.reason);
  size += measureString(packet.topic);
  size += measureString(packet.userId);
  size += measureString(packet.path);
  size += measureString(packet.remoteAddress);
  return size;
}

function writeUint32(buf: Buffer, pos: number, tag: number, value: number | undefined): number {
  const v = (value ?? 0) >>> 0;
  if (v === 0) return pos;
  buf[pos++] = tag;
  return writeVarint(buf, pos, v);
}

function writeString(buf: Buffer, pos: number, tag: number, value: string | undefined): number {
  if (!value) return pos;
  const length = stringLengths[stringsWritten++]!;
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, length);
  buf.write(value, pos, length);
  return pos + length;
}

/** Second pass: the packet's body, in field-number order, as measured. */
function writePacket(buf: Buffer, pos: number, packet: Packet, i: number): number {
  const lo = idLos[i]!;
  const hi = idHis[i]!;
  if ((lo | hi) !== 0) {
    buf[pos] = TAG_SESSION_ID;
    buf[pos + 1] = lo;
    buf[pos + 2] = lo >>> 8;
    buf[pos + 3] = lo >>> 16;
    buf[pos + 4] = lo >>> 24;
    buf[pos + 5] = hi;
    buf[pos + 6] = hi >>> 8;
    buf[pos + 7] = hi >>> 16;
    buf[pos + 8] = hi >>> 24;
    pos += 9;
  }
  pos = writeUint32(buf, pos, TAG_MSG_ID, packet.msgId);
  pos = writeUint32(buf, pos, TAG_SERVER_ID, packet.serverId);
  const payload = packet.payload;
  const payloadLength = payload === undefined ? 0 : payload.length;
  if (payloadLength > 0) {
    buf[pos++] = TAG_PAYLOAD;
    pos = writeVarint(buf, pos, payloadLength);
    buf.set(payload!, pos);
    pos += payloadLength;
  }
  pos = writeUint32(buf, pos, TAG_KIND, packet.kind);
  pos = writeString(buf, pos, TAG_TRACEPARENT, packet.traceparent);
  pos = writeUint32(buf, pos, TAG_CODE, packet.code);
  pos = writeString(buf, pos, TAG_REASON, packet.reason);
  pos = writeString(buf, pos, TAG_TOPIC, packet.topic);
  pos = writeString(buf, pos, TAG_USER_ID, packet.userId);
  pos = writeString(buf, pos, TAG_PATH, packet.path);
  return writeString(buf, pos, TAG_REMOTE_ADDRESS, packet.remoteAddress);
}

/**
 * Serializes a PacketBatch into one new Buffer of exactly its wire size (empty for an empty batch). Throws a
 * PacketCodecError for a packet whose session id is neither cached nor an unsigned 64-bit decimal.
 */
export function encodePacketBatch(batch: PacketBatch): Buffer {
  const packets = batch.packets;
  const count = packets.length;
  if (count === 0) return EMPTY;
  if (count > bodyLengths.length) {
    bodyLengths = grown(bodyLengths, count);
    idLos = grown(idLos, count);
    idHis = grown(idHis, count);
  }
  stringsMeasured = 0;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const size = measurePacket(packets[i]!, i);
    bodyLengths[i] = size;
    total += 1 + varintBytes(size) + size;
  }
  const buf = Buffer.allocUnsafe(total);
  stringsWritten = 0;
  let pos = 0;
  for (let i = 0; i < count; i++) {
    buf[pos++] = TAG_PACKETS;
    pos = writeVarint(buf, pos, bodyLengths[i]!);
    pos = writePacket(buf, pos, packets[i]!, i);
  }
  // allocUnsafe: a measuring bug must not send stale memory to a backend.
  if (pos !== total) throw new PacketCodecError(`PacketBatch encoder wrote ${pos} bytes of ${total} measured`);
  return buf;
}

// Decoding ---------------------------------------------------------------------------------------------------------

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
function cacheSessionId(lo: number, hi: number, id: string): void {
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
