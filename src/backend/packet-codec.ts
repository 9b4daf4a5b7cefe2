/**
 * The gateway's own protobuf codec for the PacketBatch of GameGateway.StreamPackets (proto/gateway.proto), used on
 * the gateway's client side in place of proto-loader's generic one. That one turns every packet into a protobufjs
 * message and back and every fixed64 session id into decimal string ⇄ Long ⇄ bytes: about a fifth of a worker's CPU
 * under load. The wire format is the proto's, so backends keep whatever codec they use.
 *
 * Encoding writes one exact-size Buffer per batch in two passes (sizes, then bytes), fields in field-number order,
 * proto3 defaults (0, '', empty bytes) omitted. The fixed64 session id is written from the packet's two words.
 *
 * Decoding yields StreamPackets (stream-packet.ts): every field present, the session id as its two words, `payload` a
 * view of the received Buffer (no copy). Unknown fields are skipped by their wire type, groups included, and so is a
 * known field with an unexpected wire type. Truncated or malformed input throws a PacketCodecError; grpc-js turns a
 * deserializer's throw into a stream error (INTERNAL).
 */
import { PacketCodecError } from '../core/errors.ts';
import type { StreamBatch, StreamPacket } from './stream-packet.ts';
import { TAG_PACKETS, TAG_SESSION_ID, TAG_MSG_ID, TAG_SERVER_ID, TAG_PAYLOAD, TAG_KIND, TAG_TRACEPARENT, TAG_CODE, TAG_REASON, TAG_TOPIC, TAG_USER_ID, TAG_PATH, TAG_REMOTE_ADDRESS, TAG_ATTRIBUTES, EMPTY } from './packet-wire.ts';

export { decodePacketBatch } from './packet-decode.ts';

// Scratch shared by the two passes of one encode (encoding is synchronous, so one set per thread suffices): each
// packet's body length, and each non-empty string's UTF-8 length in the order written.
let bodyLengths = new Int32Array(64);
let stringLengths = new Int32Array(64);
let stringsMeasured = 0;
let stringsWritten = 0;

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
function measureString(value: string): number {
  if (!value) return 0;
  const length = Buffer.byteLength(value);
  if (stringsMeasured === stringLengths.length) stringLengths = grown(stringLengths, stringsMeasured + 1);
  stringLengths[stringsMeasured++] = length;
  return 1 + varintBytes(length) + length;
}

/** Wire bytes of a uint32 field (proto-loader's fromObject coerces with `>>> 0`; so does the writer). */
function measureUint32(value: number): number {
  const v = value >>> 0;
  return v === 0 ? 0 : 1 + varintBytes(v);
}

/** First pass: the packet's body length. */
function measurePacket(packet: StreamPacket): number {
  let size = (packet.idLo | packet.idHi) === 0 ? 0 : 9;
  size += measureUint32(packet.msgId) + measureUint32(packet.serverId) + measureUint32(packet.kind) + measureUint32(packet.code);
  // `length`, not `byteLength`: the same for a Uint8Array, and V8's byteLength getter costs several times more.
  const payloadLength = packet.payload.length;
  if (payloadLength > 0) size += 1 + varintBytes(payloadLength) + payloadLength;
  size += measureString(packet.traceparent);
  size += measureString(packet.reason);
  size += measureString(packet.topic);
  size += measureString(packet.userId);
  size += measureString(packet.path);
  size += measureString(packet.remoteAddress);
  // Already wire bytes (encodeAttributes), tags and lengths included.
  return size + packet.attributes.length;
}

function writeUint32(buf: Buffer, pos: number, tag: number, value: number): number {
  const v = value >>> 0;
  if (v === 0) return pos;
  buf[pos++] = tag;
  return writeVarint(buf, pos, v);
}

function writeString(buf: Buffer, pos: number, tag: number, value: string): number {
  if (!value) return pos;
  const length = stringLengths[stringsWritten++]!;
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, length);
  buf.write(value, pos, length);
  return pos + length;
}

/** Second pass: the packet's body, in field-number order, as measured. */
function writePacket(buf: Buffer, pos: number, packet: StreamPacket): number {
  const lo = packet.idLo;
  const hi = packet.idHi;
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
  const payloadLength = payload.length;
  if (payloadLength > 0) {
    buf[pos++] = TAG_PAYLOAD;
    pos = writeVarint(buf, pos, payloadLength);
    buf.set(payload, pos);
    pos += payloadLength;
  }
  pos = writeUint32(buf, pos, TAG_KIND, packet.kind);
  pos = writeString(buf, pos, TAG_TRACEPARENT, packet.traceparent);
  pos = writeUint32(buf, pos, TAG_CODE, packet.code);
  pos = writeString(buf, pos, TAG_REASON, packet.reason);
  pos = writeString(buf, pos, TAG_TOPIC, packet.topic);
  pos = writeString(buf, pos, TAG_USER_ID, packet.userId);
  pos = writeString(buf, pos, TAG_PATH, packet.path);
  pos = writeString(buf, pos, TAG_REMOTE_ADDRESS, packet.remoteAddress);
  const attributes = packet.attributes;
  if (attributes.length > 0) {
    buf.set(attributes, pos);
    pos += attributes.length;
  }
  return pos;
}

function entryField(buf: Buffer, pos: number, tag: number, text: string, length: number): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, length);
  buf.write(text, pos, length);
  return pos + length;
}

/**
 * A string map as the wire bytes of Packet field 13 (`attributes`): one entry message per pair, `key` = 1 and
 * `value` = 2, empty strings omitted as proto3 does. Encoded once per session, so every OPEN only copies it.
 */
export function encodeAttributes(attributes: Readonly<Record<string, string>>): Buffer {
  const pairs = Object.entries(attributes);
  if (pairs.length === 0) return EMPTY;
  const sizes = pairs.map(([key, value]) => {
    const k = Buffer.byteLength(key);
    const v = Buffer.byteLength(value);
    const body = (k > 0 ? 1 + varintBytes(k) + k : 0) + (v > 0 ? 1 + varintBytes(v) + v : 0);
    return { k, v, body };
  });
  const buf = Buffer.allocUnsafe(sizes.reduce((sum, { body }) => sum + 1 + varintBytes(body) + body, 0));
  let pos = 0;
  pairs.forEach(([key, value], i) => {
    const { k, v, body } = sizes[i]!;
    buf[pos++] = TAG_ATTRIBUTES;
    pos = writeVarint(buf, pos, body);
    if (k > 0) pos = entryField(buf, pos, 0x0a, key, k);
    if (v > 0) pos = entryField(buf, pos, 0x12, value, v);
  });
  return buf;
}

/** Serializes a PacketBatch into one new Buffer of exactly its wire size (empty for an empty batch). */
export function encodePacketBatch(batch: StreamBatch): Buffer {
  const packets = batch.packets;
  const count = packets.length;
  if (count === 0) return EMPTY;
  if (count > bodyLengths.length) bodyLengths = grown(bodyLengths, count);
  stringsMeasured = 0;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const size = measurePacket(packets[i]!);
    bodyLengths[i] = size;
    total += 1 + varintBytes(size) + size;
  }
  const buf = Buffer.allocUnsafe(total);
  stringsWritten = 0;
  let pos = 0;
  for (let i = 0; i < count; i++) {
    buf[pos++] = TAG_PACKETS;
    pos = writeVarint(buf, pos, bodyLengths[i]!);
    pos = writePacket(buf, pos, packets[i]!);
  }
  // allocUnsafe: a measuring bug must not send stale memory to a backend.
  if (pos !== total) throw new PacketCodecError(`PacketBatch encoder wrote ${pos} bytes of ${total} measured`);
  return buf;
}
