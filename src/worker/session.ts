/**
 * One client session, owned by exactly one worker for its whole life. Holds the uWS socket, the sticky backend
 * bindings, the topics it holds and the protocol-violation window. Inside the worker it is known by its id's words
 * and key (session-id.ts); the decimal id is for logs and session events.
 */
import type { WebSocket } from 'uWebSockets.js';
import { sessionIdText, type IssuedSessionId } from '../core/session-id.ts';
import type { SessionInfo } from '../backend/stream-actor.ts';
import type { AuthGrant } from '../auth/auth-verdict.ts';
import { SessionBindings } from './session-bindings.ts';
import type { SessionAuth } from './session-auth.ts';
import type { MessageRate } from './message-rate.ts';
import type { TopicMark } from './topic-tally.ts';
import type { ClientTraceContext } from '../protocol/control.ts';

/** uWS per-socket user data: set at upgrade, `session` filled in at open. */
export interface SocketData {
  session: Session | undefined;
  path: string;
  remoteAddress: string;
  /** What the upgrade's token granted (auth); undefined without auth or for an anonymous session. */
  grant?: AuthGrant | undefined;
  /** The user whose connection count (`limits.maxConnectionsPerUser`, user-connections.ts) this session holds a place in. */
  countedUser?: string | undefined;
}

/** Every session's topics until its first subscription; never added to (Session.topicSet / pendingSet). */
const NO_TOPICS: Set<string> = new Set();

/** Every session's bindings until its first bind; never bound (Session.bindings). */
const UNBOUND = new SessionBindings();

export class Session implements SessionInfo {
  readonly key: number;
  readonly idLo: number;
  readonly idHi: number;
  readonly ws: WebSocket<SocketData>;
  readonly path: string;
  readonly remoteAddress: string;
  userId: string | undefined = undefined;
  /** Set at open from the upgrade's grant: the token's user, deadline and topic globs. */
  auth: SessionAuth | undefined = undefined;
  /** What backends see of the grant: SessionEvent attributes, and the same as OPEN's wire bytes. */
  attributes: Readonly<Record<string, string>> | undefined = undefined;
  attributesWire: Uint8Array | undefined = undefined;
  /**
   * Its sticky backends. Starts as the one shared empty SessionBindings (~40 bytes a session, and an idle session binds
   * nothing): read it freely, but bind only through `bindings`.
   */
  backends: SessionBindings = UNBOUND;
  /**
   * The topics it holds, and the subscriptions waiting for a backend's authorization (route `authorizeTopics`; they
   * count against the limit). Both start as the one shared empty set (an empty Set is ~160 bytes, and most sessions
   * never subscribe): read them freely, but add only through `topicSet` / `pendingSet`.
   */
  topics: ReadonlySet<string> & Pick<Set<string>, 'delete' | 'clear'> = NO_TOPICS;
  pendingTopics: ReadonlySet<string> & Pick<Set<string>, 'delete' | 'clear'> = NO_TOPICS;
  closed = false;
  /** The session's message and byte buckets (message-rate.ts); undefined when both rates are off. */
  rate: MessageRate | undefined = undefined;
  /** Coarse time (the worker's CoarseClock) of the last message or pong. */
  lastSeen: number;
  pingSentAt = 0;
  /** When the send buffer first overflowed, 0 while it has room. */
  slowSince = 0;
  /** Wall-clock time (ms) of the open, for the access log. */
  readonly openedAt = Date.now();
  /**
   * Messages and their bytes (header included, WebSocket framing not) received from the client and handed to its
   * socket (a message dropped for a full send buffer is not); topic publishes are added at unsubscribe and close.
   */
  framesIn = 0;
  bytesIn = 0;
  framesOut = 0;
  bytesOut = 0;
  /** With the access log on: where each topic's publish totals stood when the session subscribed (topic-tally.ts). */
  topicMarks: Map<string, TopicMark> | undefined = undefined;
  /** A client's TRACE_CONTEXT, waiting for the session's next DATA (src/tracing/). */
  traceContext: ClientTraceContext | undefined = undefined;
  /** Its connection span, when tracing exports spans and sampled this connection (src/tracing/). */
  connectionSpan: unknown = undefined;
  /**
   * Its DATA in the backend batch being handled (backend-inbound.ts): the group it was last seen in, and the first and
   * last of its packets' indexes there (the rest are chained in between).
   */
  inboundGroup = 0;
  inboundHead = 0;
  inboundTail = 0;
  #violations = 0;
  #windowStart = 0;

  /**
   * The session id as clients and backends see it (decimal). Built on each read from `idLo`/`idHi`, not held: it is
   * read a few times in a session's life (open, bind, close, sampled spans), and a held string is ~48 bytes a session.
   */
  get id(): string {
    return sessionIdText(this.idLo, this.idHi);
  }

  /** `backends`, made the session's own on the first bind. */
  bindings(): SessionBindings {
    if (this.backends === UNBOUND) this.backends = new SessionBindings();
    return this.backends;
  }

  /** `topics`, made the session's own set on the first add. */
  topicSet(): Set<string> {
    if (this.topics === NO_TOPICS) this.topics = new Set();
    return this.topics as Set<string>;
  }

  /** `pendingTopics`, made the session's own set on the first add. */
  pendingSet(): Set<string> {
    if (this.pendingTopics === NO_TOPICS) this.pendingTopics = new Set();
    return this.pendingTopics as Set<string>;
  }

  constructor(id: IssuedSessionId, ws: WebSocket<SocketData>, path: string, remoteAddress: string, now: number) {
    this.lastSeen = now;
    this.key = id.key;
    this.idLo = id.lo;
    this.idHi = id.hi;
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
