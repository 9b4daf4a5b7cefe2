/**
 * Where an upgrade's token comes from, in this order: `Authorization: Bearer <token>`; the `access_token` query
 * parameter (browsers cannot set headers on a WebSocket); a `Sec-WebSocket-Protocol` entry `actorgate.bearer.<token>`
 * offered beside `actorgate.v1` (the gateway answers with `actorgate.v1` alone, so the token is never echoed). The
 * first source present wins; an `Authorization` header of another scheme (Basic, …) is no source.
 */

export const BEARER_SUBPROTOCOL_PREFIX = 'actorgate.bearer.';

/** The token of a `Bearer` Authorization header ('' for the scheme alone), or undefined for none or another scheme. */
export function bearerToken(authorization: string): string | undefined {
  const value = authorization.trim();
  const space = value.search(/[ \t]/);
  const scheme = space < 0 ? value : value.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') return undefined;
  return space < 0 ? '' : value.slice(space + 1).trim();
}

/** The token of an offered `actorgate.bearer.<token>` subprotocol entry, if any. */
export function subprotocolToken(offered: string): string | undefined {
  if (!offered.includes(BEARER_SUBPROTOCOL_PREFIX)) return undefined;
  for (const entry of offered.split(',')) {
    const name = entry.trim();
    if (name.startsWith(BEARER_SUBPROTOCOL_PREFIX)) return name.slice(BEARER_SUBPROTOCOL_PREFIX.length);
  }
  return undefined;
}

/**
 * The upgrade's token from the three sources, as the upgrade handler read them (`authorization` and `protocols`
 * headers, '' when absent; `query` the decoded `access_token` parameter, undefined when absent).
 */
export function findToken(authorization: string, query: string | undefined, protocols: string): string | undefined {
  const header = authorization === '' ? undefined : bearerToken(authorization);
  if (header !== undefined) return header;
  if (query !== undefined) return query;
  return subprotocolToken(protocols);
}
