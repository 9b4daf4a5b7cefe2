/**
 * The v1 frame: an 8-byte little-endian header and an opaque payload (docs/PROTOCOL.md).
 *
 *   0  u16 length    payload bytes; equals message size − 8
 *   2  u16 msgId
 *   4  u32 serverId  bit 31 isZip, bits 16–30 worldId, bits 8–15 serverType, bits 0–7 instId
 *   8  payload
 *
 * This folder is the only place bytes are encoded or decoded.
 */
/** The WebSocket subprotocol that names this version of the protocol. */
export const SUBPROTOCOL = 'actorgate.v1';
export const HEADER_BYTES = 8;
/** The u16 length field caps a payload. */
export const MAX_PAYLOAD_BYTES = 0xffff;

export interface ServerIdParts {
  isZip: boolean;
  worldId: number;
  serverType: number;
  instId: number;
}

export function serverTypeOf(serverId: number): number {
  return (serverId >>> 8) & 0xff;
}

/**
 * Whether a frame with this serverId may come from a backend, a push or Redis: serverType 0 is the gateway itself
 * (control messages), so a frame from anyone else that carried it would reach the client as one (a forged DRAIN
 * naming another server, a stray HEARTBEAT).
 */
export function isServerFrame(serverId: number): boolean {
  return serverTypeOf(serverId) !== 0;
}

export function worldIdOf(serverId: number): number {
  return (serverId >>> 16) & 0x7fff;
}

export function instIdOf(serverId: number): number {
  return serverId & 0xff;
}

export function isZipOf(serverId: number): boolean {
  return (serverId & 0x80000000) !== 0;
}

export function packServerId(parts: Partial<ServerIdParts>): number {
  const { isZip = false, worldId = 0, serverType = 0, instId = 0 } = parts;
  if (worldId < 0 || worldId > 0x7fff) throw new RangeError(`worldId ${worldId} outside 0–32767`);
  if (serverType < 0 || serverType > 0xff) throw new RangeError(`serverType ${serverType} outside 0–255`);
  if (instId < 0 || instId > 0xff) throw new RangeError(`instId ${instId} outside 0–255`);
  return ((isZip ? 0x80000000 : 0) | (worldId << 16) | (serverType << 8) | instId) >>> 0;
}

export function unpackServerId(serverId: number): ServerIdParts {
  return {
    isZip: isZipOf(serverId),
    worldId: worldIdOf(serverId),
    serverType: serverTypeOf(serverId),
    instId: instIdOf(serverId),
  };
}

/** Why a client message was refused before routing; maps 1:1 onto codes in codes.ts. */
export const enum FrameFault {
  NONE = 0,
  MALFORMED = 1,
  LENGTH_MISMATCH = 2,
  TOO_LARGE = 3,
}

/**
 * Checks a client message's header, read in place from the bytes (no copy; the caller's one view of the message also
 * serves to copy the payload). `maxPayload` is the configured limit (≤ MAX_PAYLOAD_BYTES).
 */
export function checkFrame(bytes: Uint8Array, maxPayload: number): FrameFault {
  const size = bytes.length;
  if (size < HEADER_BYTES) return FrameFault.MALFORMED;
  const length = bytes[0]! | (bytes[1]! << 8);
  if (length !== size - HEADER_BYTES) return size - HEADER_BYTES > maxPayload ? FrameFault.TOO_LARGE : FrameFault.LENGTH_MISMATCH;
  if (length > maxPayload) return FrameFault.TOO_LARGE;
  return FrameFault.NONE;
}

/** The header's msgId (the message must hold at least 4 bytes). */
export function readMsgId(bytes: Uint8Array): number {
  return bytes[2]! | (bytes[3]! << 8);
}

/** The header's serverId, unsigned (the message must hold the whole header). */
export function readServerId(bytes: Uint8Array): number {
  return (bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24)) >>> 0;
}

/** Builds one frame into a fresh buffer (header + payload). */
export function encodeFrame(msgId: number, serverId: number, payload: Uint8Array): Uint8Array {
  if (payload.byteLength > MAX_PAYLOAD_BYTES) throw new RangeError(`payload of ${payload.byteLength} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  const out = new Uint8Array(HEADER_BYTES + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint16(0, payload.byteLength, true);
  view.setUint16(2, msgId, true);
  view.setUint32(4, serverId >>> 0, true);
  out.set(payload, HEADER_BYTES);
  return out;
}

/**
 * Builds frames into one reusable buffer; a returned frame is valid only until the next call. For senders that copy
 * the bytes before they return (uWS `send` does: it frames them into the socket's own buffer, corked or not), this
 * saves a fresh, zeroed, garbage-collected buffer per message on the hot path from backends to clients.
 */
export class FrameWriter {
  #bytes = new Uint8Array(4096);
  #view = new DataView(this.#bytes.buffer);

  frame(msgId: number, serverId: number, payload: Uint8Array): Uint8Array {
    const length = payload.length;
    if (length > MAX_PAYLOAD_BYTES) throw new RangeError(`payload of ${length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
    const size = HEADER_BYTES + length;
    if (size > this.#bytes.length) {
      // Grows at most to one maximal frame (64 KiB + 8), then stays.
      this.#bytes = new Uint8Array(Math.min(HEADER_BYTES + MAX_PAYLOAD_BYTES, Math.max(size, 2 * this.#bytes.length)));
      this.#view = new DataView(this.#bytes.buffer);
    }
    const view = this.#view;
    view.setUint16(0, length, true);
    view.setUint16(2, msgId, true);
    view.setUint32(4, serverId >>> 0, true);
    this.#bytes.set(payload, HEADER_BYTES);
    return this.#bytes.subarray(0, size);
  }
}

export interface DecodedFrame {
  msgId: number;
  serverId: number;
  payload: Uint8Array;
}

/** Decodes a whole frame (for clients and tests; the gateway's hot path uses checkFrame + read*). */
export function decodeFrame(data: ArrayBuffer | Uint8Array): DecodedFrame {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (checkFrame(bytes, MAX_PAYLOAD_BYTES) !== FrameFault.NONE) throw new RangeError('malformed frame');
  return { msgId: readMsgId(bytes), serverId: readServerId(bytes), payload: bytes.subarray(HEADER_BYTES) };
}
