/**
 * The payload every benchmark push carries, written by the publisher and read by the receivers:
 *
 *   0  f64  sentMs  monoMs() of the intended send (fixed rate: the scheduled time, so a late sender shows up as latency)
 *   8  u32  run     which run (and whether its warm-up or measured part) the push belongs to
 *  12  u32  seq     the push's number within its run
 *  16  …    filler up to the configured payload size
 */
export const STAMP_BYTES = 16;
/** The topic the receivers subscribe to; the gateway's topics.allow must admit it. */
export const TOPIC = 'bench.fanout';
export const TOPIC_PATTERN = 'bench.*';
/** serverId of benchmark pushes: serverType 9 (any non-zero type makes them data frames, not control frames). */
export const PUSH_SERVER_ID = 9 << 8;
export const PUSH_MSG_ID = 1;

export function writeStamp(into: Buffer, sentMs: number, run: number, seq: number): Buffer {
  into.writeDoubleLE(sentMs, 0);
  into.writeUInt32LE(run, 8);
  into.writeUInt32LE(seq >>> 0, 12);
  return into;
}

/** A fresh payload of `bytes` (≥ STAMP_BYTES) with its stamp. Fresh, because a transport may hold it after the call. */
export function stampedPayload(bytes: number, sentMs: number, run: number, seq: number): Buffer {
  const payload = Buffer.alloc(bytes, 0x61);
  return writeStamp(payload, sentMs, run, seq);
}

export function sentMsOf(chunk: Buffer, at: number): number {
  return chunk.readDoubleLE(at);
}

export function runOf(chunk: Buffer, at: number): number {
  return chunk.readUInt32LE(at + 8);
}
