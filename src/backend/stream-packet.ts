/**
 * A packet as the gateway holds it: what a stream actor queues and encodes, and what the stream codec decodes. The
 * fields of proto/gateway.proto's Packet, with the session id as its two 32-bit words (no decimal string between a
 * client's message and the gRPC write, nor between a backend's packet and the client send; session-id.ts), and every
 * field always present, so that every packet has one shape for V8 to optimise for.
 */
import { PacketKind, type PacketFields, type PacketKindValue } from './proto.ts';
import { EMPTY } from './packet-wire.ts';
import type { PacketProbe } from './packet-probe.ts';

export interface StreamPacket extends PacketFields {
  /** The session id's low and high 32-bit words, as int32; both 0 for no session (a backend's topic publish). */
  idLo: number;
  idHi: number;
  kind: PacketKindValue;
  payload: Uint8Array;
  /**
   * OPEN only: the session's attributes (map field 13) as their wire bytes, tags included, encoded once per session
   * (`encodeAttributes`) and copied as they are into every OPEN; empty for every other packet.
   */
  attributes: Uint8Array;
  /** A sampled or traced client message's probe (packet-probe.ts); null for every other packet. Never encoded. */
  probe: PacketProbe | null;
}

export interface StreamBatch {
  packets: StreamPacket[];
}

/** A client message for a backend. `payload` is the packet's own copy. */
export function dataPacket(
  idLo: number, idHi: number, msgId: number, serverId: number, payload: Uint8Array, probe: PacketProbe | null = null,
): StreamPacket {
  return { idLo, idHi, kind: PacketKind.DATA, msgId, serverId, payload, traceparent: '', code: 0, reason: '', topic: '', userId: '', path: '', remoteAddress: '', attributes: EMPTY, probe };
}

/** A packet of `kind` for a session with every other field at its default; the caller sets what the kind needs. */
export function sessionPacket(kind: PacketKindValue, idLo: number, idHi: number): StreamPacket {
  return { idLo, idHi, kind, msgId: 0, serverId: 0, payload: EMPTY, traceparent: '', code: 0, reason: '', topic: '', userId: '', path: '', remoteAddress: '', attributes: EMPTY, probe: null };
}
