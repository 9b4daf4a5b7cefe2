/**
 * Completing an upgrade after uWS's upgrade handler has returned (the token was verified on another thread).
 *
 * The documented way, `res.cork(() => res.upgrade(...))`, is unsafe in this uWS build (uwebsockets 3.0.6):
 * HttpResponse::cork runs its HTTP connection-close logic after the callback, and when the upgrade reallocated the
 * socket in place it reads that state from memory that is now the WebSocket; now and then it finds the close bit set
 * and closes the new WebSocket right after `open` (the client sees 1006). That is uWebSockets issue #1928, fixed
 * upstream in fe7c01a; until the dependency carries the fix, this file works around it.
 *
 * The faulty logic runs only on cork's outer branch, taken when no other socket is corked. So the upgrade is run
 * inside `res.cork` nested in another socket's cork (an open session's WebSocket, or another handshake still
 * waiting for its verdict): cork then just calls back, the upgrade writes uncorked (two writes instead of one), and
 * uWS.js sees a cork callback, so it prints no warning. With no other socket on the worker at all, the upgrade runs
 * uncorked: correct, at the cost of one uWS warning line on stderr for that upgrade.
 */
import type uWS from 'uWebSockets.js';

/** A socket uWS can cork other than the response being upgraded. */
export interface Corkable {
  cork(cb: () => void): unknown;
}

/** Runs `complete` (which upgrades or refuses `res`) for a response answered after its handler returned. */
export function completeLater(res: uWS.HttpResponse, complete: () => void, other: Corkable | undefined): void {
  if (other === undefined) return complete();
  other.cork(() => res.cork(complete));
}
