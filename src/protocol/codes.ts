/**
 * The client-visible code table: the one list of error codes (in ERROR control frames) and WebSocket close codes.
 * All are in 4000–4999. The range says whether to retry: 4000–4499 are retryable (reconnect, or resend later),
 * 4500–4999 are not (the client must change what it sends). docs/PROTOCOL.md renders this table; keep them in step.
 */
export const Code = {
  /** close: the worker that owned the session failed; reconnect. */
  INTERNAL_ERROR: 4000,
  /** close: the gateway is shutting down; reconnect (to another instance). */
  SHUTDOWN: 4001,
  /** close: the gateway drained and the reconnect deadline passed; reconnect. */
  DRAINED: 4002,
  /** close: no pong / no traffic within the idle timeout. */
  IDLE_TIMEOUT: 4003,
  /** close: the client did not read its messages fast enough. */
  SLOW_CONSUMER: 4004,
  /** upgrade refused with HTTP 503: the worker or the process is at its connection limit, or the gateway is draining. */
  TOO_MANY_CONNECTIONS: 4005,
  /** HTTP 408, then the TCP connection is closed: the upgrade request did not arrive within `limits.handshakeTimeoutMs`. */
  HANDSHAKE_TIMEOUT: 4006,
  /** error: the backend's mailbox is full; the message was not forwarded. Resend later. */
  BACKEND_OVERLOADED: 4100,
  /** error: the backend is not reachable (stream down, circuit open); the message was not forwarded. */
  BACKEND_UNAVAILABLE: 4101,
  /** error: the message waited in the mailbox longer than the configured age while the backend was down. */
  BACKEND_EXPIRED: 4102,
  /** error: the session's backend was replaced after a failover; the next message opens a new binding. */
  BACKEND_FAILOVER: 4103,
  /** upgrade refused with HTTP 401, or close at the token's `exp` (+ leeway): get a fresh token, then reconnect or REFRESH. */
  TOKEN_EXPIRED: 4200,
  /** upgrade refused with HTTP 503: the verifications in flight are at their bound; retry shortly. */
  AUTH_BUSY: 4201,
  /** upgrade refused with HTTP 503: the token could not be verified now (verifier failed or timed out); retry. */
  AUTH_UNAVAILABLE: 4202,
  /** error: the session (or its user, or its route) is over a message or byte rate; the message was not forwarded. Resend later. */
  RATE_LIMITED: 4300,
  /** close: the session kept exceeding its message rate for `limits.rateLimitCloseAfterMs`. */
  RATE_LIMIT_EXCEEDED: 4301,
  /** upgrade refused with HTTP 429: the client address holds `limits.maxConnectionsPerIp` connections already. */
  TOO_MANY_CONNECTIONS_PER_IP: 4302,
  /** upgrade refused with HTTP 429: the client address opens connections faster than `limits.upgradesPerSecondPerIp`. */
  TOO_MANY_UPGRADES_PER_IP: 4303,
  /** upgrade refused with HTTP 503: the process takes upgrades faster than `limits.upgradesPerSecond`. */
  TOO_MANY_UPGRADES: 4304,
  /** upgrade refused with HTTP 429: the token's user holds `limits.maxConnectionsPerUser` connections across the instances sharing Redis. */
  TOO_MANY_CONNECTIONS_PER_USER: 4305,
  /** upgrade refused with HTTP 503: the user's connections could not be counted in Redis in time and `limits.userConnectionsFailOpen` is false. */
  USER_LIMIT_UNAVAILABLE: 4306,
  /** close: repeated protocol violations. */
  PROTOCOL_VIOLATION: 4500,
  /** error: a message shorter than the 8-byte header. */
  MALFORMED_FRAME: 4501,
  /** error: the header's length field is not message size − 8. */
  LENGTH_MISMATCH: 4502,
  /** error: payload larger than `limits.maxPayloadBytes`. */
  PAYLOAD_TOO_LARGE: 4503,
  /** error: a control message (serverType 0) with an unknown msgId or a bad body. */
  UNKNOWN_CONTROL: 4504,
  /** error: no route rule matches the message's (serverType, worldId, instId). */
  NO_ROUTE: 4505,
  /** error: a text WebSocket message; the protocol is binary only. */
  TEXT_NOT_SUPPORTED: 4506,
  /** subscribe result: the topic is not allowed by `topics.allow`. */
  FORBIDDEN: 4507,
  /** subscribe result: the session holds `limits.maxSubscriptionsPerSession` topics already. */
  TOO_MANY_SUBSCRIPTIONS: 4508,
  /** subscribe result: the topic is empty, too long or not UTF-8. */
  BAD_TOPIC: 4509,
  /** close: the backend closed the session with a code outside 4000–4999. */
  CLOSED_BY_BACKEND: 4510,
  /** upgrade refused with HTTP 414: the request target is longer than `limits.maxUrlBytes`. */
  URL_TOO_LONG: 4511,
  /** upgrade refused with HTTP 431: the request head is over `limits.maxHeaderBytes` or `limits.maxHeaderFields`. */
  HEADERS_TOO_LARGE: 4512,
  /** upgrade refused with HTTP 401 (or REFRESH refused): the token is missing or invalid. */
  UNAUTHORIZED: 4520,
  /** push API or admin endpoint refused with HTTP 401 / gRPC UNAUTHENTICATED: `push.apiKeys` or `admin.apiKeys` is set and the request has no key. */
  API_KEY_REQUIRED: 4521,
  /** push API or admin endpoint refused with HTTP 401 / gRPC UNAUTHENTICATED: the request's key is none of the configured ones. */
  API_KEY_INVALID: 4522,
} as const;

export type CodeName = keyof typeof Code;
export type CodeValue = (typeof Code)[CodeName];

export function isRetryable(code: number): boolean {
  return code >= 4000 && code < 4500;
}

const names = new Map<number, CodeName>(Object.entries(Code).map(([name, value]) => [value, name as CodeName]));

export function codeName(code: number): string {
  return names.get(code) ?? `CODE_${code}`;
}

/** A backend-chosen close code passes through when it is in the application range; otherwise it is replaced. */
export function clientCloseCode(backendCode: number): number {
  return backendCode >= 4000 && backendCode <= 4999 ? backendCode : Code.CLOSED_BY_BACKEND;
}

/** Bytes a close frame's reason may hold (RFC 6455 §5.5: 125 with the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

const reasonEncoder = new TextEncoder();
const reasonDecoder = new TextDecoder();

/**
 * A backend-chosen close reason as the client receives it: at most 123 bytes, cut at a character boundary. uWS cuts a
 * longer reason at byte 123 itself, which can split a character, and a client must fail a connection whose close
 * reason is not UTF-8: it would see 1006 instead of the backend's code.
 */
export function clientCloseReason(reason: string): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short reasons need no encoding.
  if (reason.length * 3 <= MAX_CLOSE_REASON_BYTES) return reason;
  const bytes = reasonEncoder.encode(reason);
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return reason;
  let end = MAX_CLOSE_REASON_BYTES;
  while ((bytes[end]! & 0xc0) === 0x80) end--;
  return reasonDecoder.decode(bytes.subarray(0, end));
}
