/**
 * RFC 6455 frame headers for the benchmark's raw clients: reading a server's (unmasked) in place, two calls instead
 * of one result object so that parsing allocates nothing per frame; and writing a client's (masked), into a buffer
 * the caller owns, so a client can build each frame in one allocation or reuse prebuilt ones.
 */

/** The opcodes the raw clients send or handle (RFC 6455 §5.2). */
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** Header bytes of the frame at `at` (2, 4 or 10), or 0 while `size - at` does not hold the whole header yet. */
export function headerBytes(chunk: Buffer, at: number, size: number): number {
  if (size - at < 2) return 0;
  const length7 = chunk[at + 1]! & 0x7f;
  const header = length7 === 126 ? 4 : length7 === 127 ? 10 : 2;
  return size - at < header ? 0 : header;
}

/** Payload length of the frame at `at`, whose `header` bytes have arrived. */
export function payloadLength(chunk: Buffer, at: number, header: number): number {
  if (header === 2) return chunk[at + 1]! & 0x7f;
  return header === 4 ? chunk.readUInt16BE(at + 2) : Number(chunk.readBigUInt64BE(at + 2));
}

/** Bytes before the payload of a client frame carrying `length` bytes: 2, the extended length (0, 2 or 8), the 4-byte mask key. */
export function maskedHeaderBytes(length: number): number {
  return (length < 126 ? 2 : length < 65536 ? 4 : 10) + 4;
}

/**
 * Writes the header of a final, masked client frame (`opcode`, `length` payload bytes) at the start of `frame`.
 * Returns the offset of the 4-byte mask key, which the caller fills (zeros leave the payload unmasked on the wire).
 */
export function writeMaskedHeader(frame: Buffer, opcode: number, length: number): number {
  frame[0] = 0x80 | opcode;
  if (length < 126) {
    frame[1] = 0x80 | length;
    return 2;
  }
  if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
    return 4;
  }
  frame[1] = 0x80 | 127;
  frame.writeBigUInt64BE(BigInt(length), 2);
  return 10;
}
