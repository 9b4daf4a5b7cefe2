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
import type { Packet, PacketBatch } from './proto.ts';
import { cacheSessionId } from './packet-decode.ts';
import { TAG_PACKETS, TAG_SESSION_ID, TAG_MSG_ID, TAG_SERVER_ID, TAG_PAYLOAD, TAG_KIND, TAG_TRACEPARENT, TAG_CODE, TAG_REASON, TAG_TOPIC, TAG_USER_ID, TAG_PATH, TAG_REMOTE_ADDRESS, EMPTY } from './packet-wire.ts';

export { decodePacketBatch } from './packet-decode.ts';

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
