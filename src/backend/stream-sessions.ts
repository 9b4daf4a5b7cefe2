/**
 * What one backend stream knows about sessions: which are bound to the endpoint (with their OPEN info), which the
 * current stream has OPENed, and how many DATA packets each has queued. It decides the lifecycle packets: OPEN goes
 * out just before a session's first DATA on the current stream, CLOSE only for a session that stream has seen.
 */
import { PacketKind, type Packet } from './proto.ts';

/** What the actor needs to know about a session to OPEN it on a stream. */
export interface SessionInfo {
  readonly id: string;
  readonly path: string;
  readonly remoteAddress: string;
  userId: string | undefined;
}

export class StreamSessions {
  /** Sessions bound to the endpoint, by id; kept until their CLOSE leaves the mailbox. */
  readonly #bound = new Map<string, SessionInfo>();
  /** Sessions that got an OPEN on the current stream. */
  #opened = new Set<string>();
  /** DATA packets queued per session. */
  readonly #queued = new Map<string, number>();

  get size(): number {
    return this.#bound.size;
  }

  get(id: string): SessionInfo | undefined {
    return this.#bound.get(id);
  }

  /** Binds a session; false when it was bound already. */
  bind(session: SessionInfo): boolean {
    if (this.#bound.has(session.id)) return false;
    this.#bound.set(session.id, session);
    return true;
  }

  /** A new stream: nothing is OPENed on it yet. */
  newStream(): void {
    this.#opened = new Set();
  }

  queued(id: string): void {
    this.#queued.set(id, (this.#queued.get(id) ?? 0) + 1);
  }

  /** A queued DATA packet left the mailbox (written or expired). */
  dequeued(id: string): void {
    const left = this.#queued.get(id)! - 1;
    if (left === 0) this.#queued.delete(id);
    else this.#queued.set(id, left);
  }

  /**
   * The session ended. True when a CLOSE must be queued: the backend has seen the session's OPEN on this stream, or
   * will (DATA queued). Otherwise the session is forgotten now. Either way lifecycle entries stay bounded by the
   * sessions the stream knows, one CLOSE each.
   */
  ended(id: string): boolean {
    if (this.#opened.has(id) || this.#queued.has(id)) return true;
    this.#bound.delete(id);
    return false;
  }

  /** A queued CLOSE was dropped without being sent (expired, failed over). */
  forget(id: string): void {
    this.#bound.delete(id);
  }

  /** Releases every bound session (failover); returns their ids. */
  releaseAll(): string[] {
    const ids = [...this.#bound.keys()];
    this.#bound.clear();
    return ids;
  }

  clear(): void {
    this.#bound.clear();
    this.#queued.clear();
    this.#opened = new Set();
  }

  /** Adds OPEN before a session's first DATA on this stream and drops CLOSE for sessions it never saw. */
  withLifecycle(queued: Packet[]): Packet[] {
    const opened = this.#opened;
    let out: Packet[] | undefined;
    for (let i = 0; i < queued.length; i++) {
      const packet = queued[i]!;
      const id = packet.sessionId!;
      if (packet.kind === PacketKind.CLOSE) {
        this.#bound.delete(id);
        if (opened.delete(id)) out?.push(packet);
        else out ??= queued.slice(0, i);
        continue;
      }
      this.dequeued(id);
      if (!opened.has(id)) {
        opened.add(id);
        out ??= queued.slice(0, i);
        out.push(this.#openPacket(id));
      }
      out?.push(packet);
    }
    return out ?? queued;
  }

  #openPacket(id: string): Packet {
    const session = this.#bound.get(id);
    return {
      sessionId: id,
      kind: PacketKind.OPEN,
      userId: session?.userId ?? '',
      path: session?.path ?? '',
      remoteAddress: session?.remoteAddress ?? '',
    };
  }
}
