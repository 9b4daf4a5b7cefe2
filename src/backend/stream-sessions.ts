/**
 * What one backend stream knows about sessions: which are bound to the endpoint (with their OPEN info), which the
 * current stream has OPENed, and how many DATA packets each has queued. It decides the lifecycle packets, and so
 * builds each batch: OPEN goes out just before a session's first DATA on the current stream, CLOSE only for a
 * session that stream has seen.
 */
import { PacketKind, type Packet } from './proto.ts';
import { contentBytes } from './packet-size.ts';
import type { StreamMailbox } from './stream-mailbox.ts';

/** What the actor needs to know about a session to OPEN it on a stream. */
export interface SessionInfo {
  readonly id: string;
  /** The id's 64 bits as cached on the Session (Packet.sessionIdLo/Hi); without them the encoder parses `id`. */
  readonly idLo?: number;
  readonly idHi?: number;
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

  /**
   * Moves the next batch from the mailbox into `out` (empty on entry): OPEN just before a session's first DATA on
   * this stream, CLOSE only for a session this stream has seen (others are dropped here). OPENs count like any packet,
   * so a batch holds at most `maxPackets` packets and `maxBytes` content bytes (packet-size.ts), except that the
   * first entry (a packet, with its OPEN) is taken whatever its size. With `maxPackets` 1, an OPEN goes alone and its
   * DATA leads the next batch. Returns the batch's content bytes.
   */
  fillBatch(mailbox: StreamMailbox, out: Packet[], maxPackets: number, maxBytes: number): number {
    const opened = this.#opened;
    let bytes = 0;
    while (out.length < maxPackets) {
      const packet = mailbox.peek();
      if (packet === undefined) break;
      const id = packet.sessionId!;
      if (packet.kind === PacketKind.CLOSE) {
        if (!opened.has(id)) {
          // The stream never saw the session: nothing to close, and the entry costs nothing.
          mailbox.shift();
          this.#bound.delete(id);
          continue;
        }
        const size = contentBytes(packet);
        if (out.length > 0 && bytes + size > maxBytes) break;
        mailbox.shift();
        this.#bound.delete(id);
        opened.delete(id);
        out.push(packet);
        bytes += size;
        continue;
      }
      const open = opened.has(id) ? undefined : this.#openPacket(id);
      const openBytes = open === undefined ? 0 : contentBytes(open);
      const size = contentBytes(packet);
      if (out.length > 0 && (out.length + (open === undefined ? 1 : 2) > maxPackets || bytes + openBytes + size > maxBytes)) break;
      if (open !== undefined) {
        opened.add(id);
        out.push(open);
        bytes += openBytes;
        if (out.length >= maxPackets) break;
      }
      mailbox.shift();
      this.dequeued(id);
      out.push(packet);
      bytes += size;
    }
    return bytes;
  }

  #openPacket(id: string): Packet {
    const session = this.#bound.get(id);
    return {
      sessionId: id,
      sessionIdLo: session?.idLo,
      sessionIdHi: session?.idHi,
      kind: PacketKind.OPEN,
      userId: session?.userId ?? '',
      path: session?.path ?? '',
      remoteAddress: session?.remoteAddress ?? '',
    };
  }
}
