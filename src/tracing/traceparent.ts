/**
 * W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header), version 00 only:
 * `00-<32 lowercase hex trace id>-<16 lowercase hex span id>-<2 hex flags>`. Parsing is strict, as the
 * recommendation asks of a receiver that knows only version 00: exactly 55 characters, lowercase hex, neither id all
 * zeros. Anything else is not a trace context and is ignored (and counted) by the caller.
 */
import { randomFillSync } from 'node:crypto';

/** A span's context as the gateway carries it: lowercase hex ids and the trace flags byte. */
export interface TraceIds {
  readonly traceId: string;
  readonly spanId: string;
  /** Bit 0 is `sampled`; the other bits pass through. */
  readonly flags: number;
}

export const TRACEPARENT_LENGTH = 55;
export const FLAG_SAMPLED = 0x01;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
// Lowercase only: the recommendation forbids uppercase hex in version 00.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The trace context of a `traceparent` value, or undefined when it is not a valid version-00 one. */
export function parseTraceparent(value: string): TraceIds | undefined {
  if (value.length !== TRACEPARENT_LENGTH) return undefined;
  const match = TRACEPARENT.exec(value);
  if (match === null) return undefined;
  const traceId = match[1]!;
  const spanId = match[2]!;
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined;
  return { traceId, spanId, flags: parseInt(match[3]!, 16) };
}

export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${HEX[flags & 0xff]}`;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Bytes as lowercase hex (ids are 8 or 16 bytes: a table lookup per byte beats Buffer's encoder at this size). */
export function toHex(bytes: Uint8Array, from = 0, to = bytes.length): string {
  let out = '';
  for (let i = from; i < to; i++) out += HEX[bytes[i]!];
  return out;
}

// Random ids from a pool refilled 4 KiB at a time: one randomFillSync per 170 trace contexts instead of one each.
const pool = new Uint8Array(4096);
let poolAt = pool.length;

function randomHex(bytes: number): string {
  for (;;) {
    if (poolAt + bytes > pool.length) {
      randomFillSync(pool);
      poolAt = 0;
    }
    const from = poolAt;
    poolAt += bytes;
    // All zeros is invalid for either id; drawing it again costs nothing measurable.
    for (let i = from; i < poolAt; i++) if (pool[i] !== 0) return toHex(pool, from, poolAt);
  }
}

/** A fresh random 16-byte trace id, as 32 lowercase hex characters. */
export function randomTraceId(): string {
  return randomHex(16);
}

/** A fresh random 8-byte span id, as 16 lowercase hex characters. */
export function randomSpanId(): string {
  return randomHex(8);
}
