/**
 * Reading RFC 6455 frame headers in place, for the benchmark's raw clients (server frames: unmasked). Two calls
 * instead of one result object, so that parsing allocates nothing per frame.
 */

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
