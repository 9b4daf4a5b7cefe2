/**
 * A refused upgrade (authentication, limits, the handshake timeout; docs/PROTOCOL.md §1, §12): its status, a JSON body
 * naming the documented code, so a client can tell "get a new token" from "retry shortly" without parsing prose, and
 * the connection closed after it. One writer for every refusal, so they all answer and close alike.
 */
import type uWS from 'uWebSockets.js';
import { codeName } from './codes.ts';

/** `{"code":4520,"name":"UNAUTHORIZED","reason":"..."}` */
export function refusalBody(code: number, reason: string): string {
  return JSON.stringify({ code, name: codeName(code), reason });
}

/** The HTTP status line uWS writes for each status the gateway refuses upgrades with. */
export const STATUS_LINES = Object.freeze({
  401: '401 Unauthorized',
  408: '408 Request Timeout',
  414: '414 URI Too Long',
  429: '429 Too Many Requests',
  431: '431 Request Header Fields Too Large',
  503: '503 Service Unavailable',
} as const);

export type RefusalStatus = keyof typeof STATUS_LINES;

/**
 * Answers a refused upgrade, inside uWS's handler or a cork: the status, `WWW-Authenticate` on 401 (RFC 6750 §3),
 * `Retry-After: 1` on 429 and 503 (a short wait is what helps), the JSON body; then the connection is closed, so a
 * refused client gets no second request on it.
 */
export function writeRefusal(res: uWS.HttpResponse, status: RefusalStatus, code: number, reason: string): void {
  res.writeStatus(STATUS_LINES[status]).writeHeader('Content-Type', 'application/json');
  if (status === 401) res.writeHeader('WWW-Authenticate', 'Bearer realm="actorgate"');
  else if (status === 429 || status === 503) res.writeHeader('Retry-After', '1');
  res.end(refusalBody(code, reason), true);
}
