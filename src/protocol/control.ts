/**
 * Gateway control messages: frames whose serverType is 0. The header's serverId is 0 both ways.
 * docs/PROTOCOL.md documents each body.
 */
import { HEADER_BYTES } from './frame.ts';

export const Control = {
  /** client → gateway, echoed back unchanged (payload ≤ 125 bytes). */
  HEARTBEAT: 1,
  /** gateway → client: u16 code, u16 refMsgId, u32 refServerId, UTF-8 reason. */
  ERROR: 2,
  /** gateway → client: u32 reconnectAfterMs, then an optional UTF-8 URL to reconnect to. */
  DRAIN: 3,
  /** client → gateway: UTF-8 topic. */
  SUBSCRIBE: 4,
  /** client → gateway: UTF-8 topic. */
  UNSUBSCRIBE: 5,
  /** gateway → client: u16 code (0 = done), UTF-8 topic. */
  SUBSCRIBE_RESULT: 6,
  /** gateway → client: u16 code (0 = done), UTF-8 topic. */
  UNSUBSCRIBE_RESULT: 7,
  /** gateway → client, the first message of every session: u64 session id, u16 worker, UTF-8 gate name. */
  WELCOME: 8,
  /** client → gateway: a fresh token (UTF-8) for the session's user, before the current one expires. */
  REFRESH: 9,
  /** gateway → client: u16 code (0 = accepted), u32 the new token's exp (unix seconds; 0: none, or refused). */
  REFRESH_RESULT: 10,
  /** client → gateway: 16-byte trace id, 8-byte span id, optional u8 trace flags; for the session's next DATA. */
  TRACE_CONTEXT: 11,
} as const;

export const MAX_HEARTBEAT_BYTES = 125;
export const MAX_TOPIC_BYTES = 200;

const encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the topic, not a marker to strip (the result must name the topic sent).
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function frame(msgId: number, bodyBytes: number): { out: Uint8Array; view: DataView } {
  const out = new Uint8Array(HEADER_BYTES + bodyBytes);
  const view = new DataView(out.buffer);
  view.setUint16(0, bodyBytes, true);
  view.setUint16(2, msgId, true);
  view.setUint32(4, 0, true);
  return { out, view };
}

export function encodeError(code: number, refMsgId: number, refServerId: number, reason: string): Uint8Array {
  const text = encoder.encode(reason);
  const { out, view } = frame(Control.ERROR, 8 + text.byteLength);
  view.setUint16(8, code, true);
  view.setUint16(10, refMsgId, true);
  view.setUint32(12, refServerId >>> 0, true);
  out.set(text, 16);
  return out;
}

/**
 * One ERROR frame (fixed code and reason) rewritten in place for each refused message: for refusals that must cost no
 * allocation (rate limiting answers a flood). uWS copies the bytes on send, so one buffer serves every send.
 */
export class ReusableError {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;

  constructor(code: number, reason: string) {
    this.#bytes = encodeError(code, 0, 0, reason);
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** The frame, naming the refused message's header fields. */
  refusing(refMsgId: number, refServerId: number): Uint8Array {
    this.#view.setUint16(10, refMsgId, true);
    this.#view.setUint32(12, refServerId >>> 0, true);
    return this.#bytes;
  }
}

export function encodeDrain(reconnectAfterMs: number, url = ''): Uint8Array {
  const text = encoder.encode(url);
  const { out, view } = frame(Control.DRAIN, 4 + text.byteLength);
  view.setUint32(8, reconnectAfterMs >>> 0, true);
  out.set(text, 12);
  return out;
}

export function encodeTopicControl(msgId: typeof Control.SUBSCRIBE | typeof Control.UNSUBSCRIBE, topic: string): Uint8Array {
  const text = encoder.encode(topic);
  const { out } = frame(msgId, text.byteLength);
  out.set(text, HEADER_BYTES);
  return out;
}

export function encodeTopicResult(
  msgId: typeof Control.SUBSCRIBE_RESULT | typeof Control.UNSUBSCRIBE_RESULT,
  code: number,
  topic: string,
): Uint8Array {
  const text = encoder.encode(topic);
  const { out, view } = frame(msgId, 2 + text.byteLength);
  view.setUint16(8, code, true);
  out.set(text, 10);
  return out;
}

export function encodeWelcome(sessionId: string, worker: number, gateName: string): Uint8Array {
  const text = encoder.encode(gateName);
  const { out, view } = frame(Control.WELCOME, 10 + text.byteLength);
  view.setBigUint64(8, BigInt(sessionId), true);
  view.setUint16(16, worker, true);
  out.set(text, 18);
  return out;
}

export function encodeRefresh(token: string): Uint8Array {
  const text = encoder.encode(token);
  const { out } = frame(Control.REFRESH, text.byteLength);
  out.set(text, HEADER_BYTES);
  return out;
}

export function encodeRefreshResult(code: number, expiresAt: number): Uint8Array {
  const { out, view } = frame(Control.REFRESH_RESULT, 6);
  view.setUint16(8, code, true);
  view.setUint32(10, expiresAt >>> 0, true);
  return out;
}

export function encodeHeartbeat(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const { out } = frame(Control.HEARTBEAT, payload.byteLength);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** A topic from a control body, or undefined when it is empty, too long or not valid UTF-8. */
export function decodeTopic(body: Uint8Array): string | undefined {
  if (body.byteLength === 0 || body.byteLength > MAX_TOPIC_BYTES) return undefined;
  try {
    return decoder.decode(body);
  } catch {
    return undefined;
  }
}

/** A client's TRACE_CONTEXT: the W3C ids as lowercase hex, and the trace flags (01, sampled, when not sent). */
export interface ClientTraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly flags: number;
}

export const TRACE_CONTEXT_BYTES = 24;

function allZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** A TRACE_CONTEXT body, or undefined when it is not 24 or 25 bytes or either id is all zeros (W3C: invalid). */
export function decodeTraceContext(body: Uint8Array): ClientTraceContext | undefined {
  if (body.byteLength !== TRACE_CONTEXT_BYTES && body.byteLength !== TRACE_CONTEXT_BYTES + 1) return undefined;
  const traceId = body.subarray(0, 16);
  const spanId = body.subarray(16, 24);
  if (allZero(traceId) || allZero(spanId)) return undefined;
  const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return { traceId: hex(traceId), spanId: hex(spanId), flags: body.byteLength > TRACE_CONTEXT_BYTES ? body[24]! : 1 };
}

/** A TRACE_CONTEXT message (clients and the testkit): ids as 32 and 16 hex characters; flags omitted when undefined. */
export function encodeTraceContext(traceId: string, spanId: string, flags?: number): Uint8Array {
  const { out } = frame(Control.TRACE_CONTEXT, TRACE_CONTEXT_BYTES + (flags === undefined ? 0 : 1));
  out.set(Buffer.from(traceId, 'hex').subarray(0, 16), HEADER_BYTES);
  out.set(Buffer.from(spanId, 'hex').subarray(0, 8), HEADER_BYTES + 16);
  if (flags !== undefined) out[HEADER_BYTES + TRACE_CONTEXT_BYTES] = flags;
  return out;
}

// Not fatal (a client shows what it got), but a leading U+FEFF is kept: it is part of a topic.
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

export type ControlMessage =
  | { type: 'heartbeat'; payload: Uint8Array }
  | { type: 'error'; code: number; refMsgId: number; refServerId: number; reason: string }
  | { type: 'drain'; reconnectAfterMs: number; url: string }
  | { type: 'subscribe-result'; code: number; topic: string }
  | { type: 'unsubscribe-result'; code: number; topic: string }
  | { type: 'welcome'; sessionId: string; worker: number; gateName: string }
  | { type: 'refresh-result'; code: number; expiresAt: number }
  | { type: 'unknown'; msgId: number; body: Uint8Array };

/** Decodes a gateway → client control message (used by clients and the testkit). */
export function decodeControl(msgId: number, body: Uint8Array): ControlMessage {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const text = (from: number) => textDecoder.decode(body.subarray(from));
  switch (msgId) {
    case Control.HEARTBEAT:
      return { type: 'heartbeat', payload: body };
    case Control.ERROR:
      return { type: 'error', code: view.getUint16(0, true), refMsgId: view.getUint16(2, true), refServerId: view.getUint32(4, true), reason: text(8) };
    case Control.DRAIN:
      return { type: 'drain', reconnectAfterMs: view.getUint32(0, true), url: text(4) };
    case Control.SUBSCRIBE_RESULT:
      return { type: 'subscribe-result', code: view.getUint16(0, true), topic: text(2) };
    case Control.UNSUBSCRIBE_RESULT:
      return { type: 'unsubscribe-result', code: view.getUint16(0, true), topic: text(2) };
    case Control.REFRESH_RESULT:
      return { type: 'refresh-result', code: view.getUint16(0, true), expiresAt: view.getUint32(2, true) };
    case Control.WELCOME:
      return { type: 'welcome', sessionId: view.getBigUint64(0, true).toString(), worker: view.getUint16(8, true), gateName: text(10) };
    default:
      return { type: 'unknown', msgId, body };
  }
}
