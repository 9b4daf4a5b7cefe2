/**
 * What a packet costs in a PacketBatch. The batch limit (`backend.maxBatchBytes`) counts *content*: payload bytes
 * plus the UTF-8 bytes of the string fields (an OPEN's path, remote address, user id and attributes, a CLOSE's
 * reason, a SUBSCRIBE's topic), so an OPEN added to a batch is paid for like the DATA it precedes.
 *
 * On the wire each packet adds at most PACKET_FRAMING_BYTES to its content (protobuf tags, varints, length prefixes,
 * the fixed64 session id): a serialized batch is at most its content plus PACKET_FRAMING_BYTES per packet.
 */
import type { StreamPacket } from './stream-packet.ts';

/**
 * Upper bound of a packet's protobuf framing, for content below 2 MiB (length prefixes of at most 3 bytes):
 * the `packets` entry (tag 1 + length 3) + session_id (1 + 8) + msg_id, server_id and code (3 × (1 + 5)) + kind
 * (1 + 1) + payload and the six string fields (7 × (tag 1 + length 3)) = 61, rounded up.
 */
export const PACKET_FRAMING_BYTES = 64;

/** Payload plus string-field bytes: what a packet counts against `backend.maxBatchBytes`. */
export function contentBytes(packet: StreamPacket): number {
  // `length`: a Uint8Array's byteLength, from a much cheaper getter.
  let bytes = packet.payload.length;
  // Client DATA carries none of these: the checks are all it pays.
  if (packet.path) bytes += Buffer.byteLength(packet.path);
  if (packet.remoteAddress) bytes += Buffer.byteLength(packet.remoteAddress);
  if (packet.userId) bytes += Buffer.byteLength(packet.userId);
  if (packet.reason) bytes += Buffer.byteLength(packet.reason);
  if (packet.topic) bytes += Buffer.byteLength(packet.topic);
  if (packet.traceparent) bytes += Buffer.byteLength(packet.traceparent);
  // An OPEN's attributes count with their own framing: the bound below stays an upper bound.
  return bytes + packet.attributes.length;
}
