/**
 * The body of a refused upgrade (authentication, limits; docs/PROTOCOL.md §1): JSON naming the documented code, so a
 * client can tell "get a new token" from "retry shortly" without parsing prose.
 */
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
