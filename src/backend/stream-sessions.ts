/**
 * What one stream actor knows about sessions: which are bound to its endpoint (with their OPEN info) and how many
 * DATA packets each has queued. With the set of sessions the current stream has OPENed (owned by that stream's
 * StreamCall), it decides the lifecycle packets, and so builds each batch: OPEN goes out just before a session's
 * first DATA on the current stream, CLOSE only for a session that stream has seen.
 *
 * Sessions are keyed by their id's tick (session-id.ts `sessionKey`): every session here belongs to one worker.
 */
import { sessionKey } from '../core/session-id.ts';
import { PacketKind } from './proto.ts';
import { contentBytes } from './packet-size.ts';
import { sessionPacket, type StreamPacket } from './stream-packet.ts';
import type { StreamMailbox } from './stream-mailbox.ts';
import type { PacketProbe } from './packet-probe.ts';

/** What the actor needs to know about a session to OPEN it on a stream. */
export interface SessionInfo {
  /** The id in decimal, for SessionEvents. */
  readonly id: string;
  /** The id's tick, unique among the worker's sessions. */
  readonly key: number;
  /** The id's two 32-bit words (StreamPacket.idLo/idHi). */
  readonly idLo: number;
  readonly idHi: number;
  readonly path: string;
  readonly remoteAddress: string;
  userId: string | undefined;
  /** What authentication granted for backends to see (SessionEvent attributes beside `path`). */
  readonly attributes?: Readonly<Record<string, string>>;
  /** The same as OPEN's wire bytes (packet-codec.ts `encodeAttributes`), encoded once per session. */
  readonly attributesWire?: Uint8Array;
}

/** A stream's OPENed sessions when there is no stream: none. */
const NONE: ReadonlySet<number> = new Set();

export class StreamSessions {
  /** Sessions bound to the endpoint, by key; kept until their CLOSE leaves the mailbox. */
  readonly #bound = new Map<number, SessionInfo>();
  /** Packets queued through `send` (DATA, SUBSCRIBE requests) per session. */
  readonly #queued = new Map<number, number>();

  get(key: number): SessionInfo | undefined {
    return this.#bound.get(key);
  }

  /** Binds a session; false when it was bound already. */
  bind(session: SessionInfo): boolean {
    if (this.#bound.has(session.key)) return false;
    this.#bound.set(session.key, session);
    return true;
  }

  queued(key: number): void {
    this.#queued.set(key, (this.#queued.get(key) ?? 0) + 1);
  }

  /** A packet queued through `send` left the mailbox (written or expired). */
  dequeued(key: number): void {
    const left = this.#queued.get(key)! - 1;
    if (left === 0) this.#queued.delete(key);
    else this.#queued.set(key, left);
  }

  /**
   * The session ended. True when a CLOSE must be queued: the backend has seen the session's OPEN on the current
   * stream (`opened`), or will (DATA queued). Otherwise the session is forgotten now. Either way lifecycle entries
   * stay bounded by the sessions the stream knows, one CLOSE each.
   */
  ended(key: number, opened: ReadonlySet<number> = NONE): boolean {
    if (opened.has(key) || this.#queued.has(key)) return true;
    this.#bound.delete(key);
    return false;
  }

  /** A queued CLOSE was dropped without being sent (expired, failed over). */
  forget(key: number): void {
    this.#bound.delete(key);
  }

  /** Releases every bound session (failover); returns their keys. */
  releaseAll(): number[] {
    const keys = [...this.#bound.keys()];
    this.#bound.clear();
    return keys;
  }

  clear(): void {
    this.#bound.clear();
    this.#queued.clear();
  }

  /**
   * Moves the next batch from the mailbox into `out` (empty on entry): OPEN just before a session's first DATA on
   * the stream whose OPENed sessions are `opened`, CLOSE only for a session that stream has seen (others are dropped
   * here). OPENs count like any packet, so a batch holds at most `maxPackets` packets and `maxBytes` content bytes
   * (packet-size.ts), except that the first entry (a packet, with its OPEN) is taken whatever its size. With
   * `maxPackets` 1, an OPEN goes alone and its DATA leads the next batch. Returns the batch's content bytes.
   * The probes of the packets taken (packet-probe.ts) are added to `probes`, found on the way at no extra pass.
   */
  fillBatch(
    mailbox: StreamMailbox,
    opened: Set<number>,
    out: StreamPacket[],
    maxPackets: number,
    maxBytes: number,
    probes?: PacketProbe[],
  ): number {
    let bytes = 0;
    while (out.length < maxPackets) {
      const packet = mailbox.peek();
      if (packet === undefined) break;
      const key = sessionKey(packet.idLo, packet.idHi);
      if (packet.kind === PacketKind.CLOSE) {
        if (!opened.has(key)) {
          // The stream never saw the session: nothing to close, and the entry costs nothing.
          mailbox.shift();
          this.#bound.delete(key);
          continue;
        }
        const size = contentBytes(packet);
        if (out.length > 0 && bytes + size > maxBytes) break;
        mailbox.shift();
        this.#bound.delete(key);
        opened.delete(key);
        out.push(packet);
        bytes += size;
        continue;
      }
      const open = opened.has(key) ? undefined : this.#openPacket(key, packet);
      const openBytes = open === undefined ? 0 : contentBytes(open);
      const size = contentBytes(packet);
      if (out.length > 0 && (out.length + (open === undefined ? 1 : 2) > maxPackets || bytes + openBytes + size > maxBytes)) break;
      if (open !== undefined) {
        opened.add(key);
        out.push(open);
        bytes += openBytes;
        if (out.length >= maxPackets) break;
      }
      mailbox.shift();
      this.dequeued(key);
      out.push(packet);
      if (packet.probe !== null) probes?.push(packet.probe);
      bytes += size;
    }
    return bytes;
  }

  #openPacket(key: number, packet: StreamPacket): StreamPacket {
    const open = sessionPacket(PacketKind.OPEN, packet.idLo, packet.idHi);
    const session = this.#bound.get(key);
    if (session !== undefined) {
      open.userId = session.userId ?? '';
      open.path = session.path;
      open.remoteAddress = session.remoteAddress;
      if (session.attributesWire !== undefined) open.attributes = session.attributesWire;
    }
    return open;
  }
}
