/**
 * The API key check of the admin port's HTTP endpoints (core/api-keys.ts): the key a request presents, and the 401
 * answer that refuses one, with the JSON body of every HTTP refusal and an RFC 6750 `WWW-Authenticate` challenge.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiKeyRefusal, presentedKey, type ApiKeys, type KeyedEndpoint } from '../core/api-keys.ts';
import { refusalBody } from '../protocol/http-refusal.ts';

/** The admin port's keyed endpoints: POST /v1/push, and the admin ones (/ready's worker list, /metrics). */
export type HttpKeyedEndpoint = Exclude<KeyedEndpoint, 'push'>;

/** The key a request presents: `X-Api-Key`, else `Authorization: Bearer <key>`; undefined for neither. */
export function requestKey(req: IncomingMessage): string | undefined {
  return presentedKey(req.headers['x-api-key'], req.headers.authorization);
}

/**
 * True when the request may go on. Otherwise it has been answered 401 and counted; a request with a body it has not
 * read is answered with `Connection: close`, so a refused sender's body is not read to keep the connection.
 */
export function admitRequest(keys: ApiKeys, endpoint: HttpKeyedEndpoint, req: IncomingMessage, res: ServerResponse, key = requestKey(req)): boolean {
  const verdict = keys.check(endpoint, key);
  if (verdict === 'ok') return true;
  const { code, reason } = apiKeyRefusal(keys.keysOf(endpoint), verdict);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'www-authenticate': verdict === 'invalid' ? 'Bearer realm="actorgate", error="invalid_token"' : 'Bearer realm="actorgate"',
  };
  if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) headers.connection = 'close';
  res.writeHead(401, headers).end(refusalBody(code, reason));
  return false;
}
