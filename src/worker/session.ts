/**
 * One client session, owned by exactly one worker for its whole life. Holds the uWS socket, the sticky backend
 * bindings (one per route rule) and the protocol-violation window.
 */
import type { WebSocket } from 'uWebSockets.js';
import type { StreamActor, SessionInfo } from '../backend/stream-actor.ts';
import { splitSessionId } from '../backend/packet-codec.ts';

/** uWS per-socket user data: set at upgrade, `session` filled in at open. */
export interface SocketData {
  session: Session | undefined;
  path: string;
  remoteAddress: string;
}

export class Session implements SessionInfo {
  readonly id: string;
  /** The id's low and high 32 bits, computed once: every packet of the session carries them to the encoder. */
  readonly idLo: number;
  readonly idHi: number;
  readonly ws: WebSocket<SocketData>;
  readonly path: string;
  readonly remoteAddress: string;
  readonly openedAt = Date.now();
  userId: string | undefined = undefined;
  /** Sticky endpoint per route rule (indexed by Route.index). */
  readonly bindings: (StreamActor | undefined)[] = [];
  /** Whether the rule at the same index asks for NotifyConnect/NotifyDisconnect, for each bound actor. */
  readonly notify = new Map<StreamActor, boolean>();
  readonly topics = new Set<string>();
  /** Subscriptions waiting for a backend's authorization (route `authorizeTopics`); count against the limit. */
  readonly pendingTopics = new Set<string>();
  closed = false;
  /** Coarse time (SessionSweeper.now) of the last message or pong. */
  lastSeen: number;
  pingSentAt = 0;
  /** When the send buffer first overflowed, 0 while it has room. */
  slowSince = 0;
  #violations = 0;
  #windowStart = 0;

  constructor(id: string, ws: WebSocket<SocketData>, path: string, remoteAddress: string, now: number) {
    this.lastSeen = now;
    this.id = id;
    const { lo, hi } = splitSessionId(id);
    this.idLo = lo;
    this.idHi = hi;
    this.ws = ws;
    this.path = path;
    this.remoteAddress = remoteAddress;
  }

  /** Counts a violation; true when the session has passed `max` within `windowMs` and must be closed. */
  violation(now: number, max: number, windowMs: number): boolean {
    if (now - this.#windowStart > windowMs) {
      this.#windowStart = now;
      this.#violations = 0;
    }
    return ++this.#violations > max;
  }
}
