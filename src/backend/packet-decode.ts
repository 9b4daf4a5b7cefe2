/**
 * Decoding half of the gateway's PacketBatch codec (see packet-codec.ts): yields StreamPackets, every field present
 * (proto3 defaults for absent ones), the session id as its two 32-bit words, `payload` a view of the received Buffer
 * (no copy). Unknown fields are skipped by their wire type, groups included, and so is a known field with an
 * unexpected wire type.
 * Truncated or malformed input throws a PacketCodecError; grpc-js turns a deserializer's throw into a stream error.
 */
import { PacketCodecError } from '../core/errors.ts';
import type { PacketKindValue } from './proto.ts';
import type { StreamBatch, StreamPacket } from './stream-packet.ts';
import { TAG_PACKETS, TAG_SESSION_ID, TAG_MSG_ID, TAG_SERVER_ID, TAG_PAYLOAD, TAG_KIND, TAG_TRACEPARENT, TAG_CODE, TAG_REASON, TAG_TOPIC, TAG_USER_ID, TAG_PATH, TAG_REMOTE_ADDRESS, TAG_ATTRIBUTES, EMPTY, MAX_GROUP_DEPTH } from './packet-wire.ts';

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

function decodePacket(buf: Buffer, pos: number, end: number): StreamPacket {
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
  let attributes: Buffer[] | undefined;
  while (pos < end) {
    const fieldStart = pos;
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
      case TAG_ATTRIBUTES: {
        // Kept as wire bytes, the form the gateway holds them in (stream-packet.ts); backends rarely send any.
        length = readLength(buf, pos, end);
        pos = cursor + length;
        // Joined once at the end: a backend sending many entries must not cost a copy per entry.
        (attributes ??= []).push(buf.subarray(fieldStart, pos));
        break;
      }
      default:
        pos = skipField(buf, pos, end, tag, 0);
    }
  }
  return {
    idLo: lo,
    idHi: hi,
    kind: kind as PacketKindValue,
    msgId,
    serverId,
    payload,
    traceparent,
    code,
    reason,
    topic,
    userId,
    path,
    remoteAddress,
    attributes: attributes === undefined ? EMPTY : attributes.length === 1 ? attributes[0]! : Buffer.concat(attributes),
    probe: null,
  };
}

/**
 * Parses a PacketBatch. Packets are plain objects with every field set (proto3 defaults for absent ones); a payload
 * is a view of `buf`. Throws a PacketCodecError for truncated or malformed input.
 */
export function decodePacketBatch(buf: Buffer): StreamBatch {
  const packets: StreamPacket[] = [];
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
