/** What the mock backend observed, as it records and emits it: packets, streams and notify calls. */
import type { PacketFields, PacketKindValue, SessionEvent } from '../backend/proto.ts';

/** A packet the gateway sent, as decoded (proto3 defaults filled in), tagged with the stream that carried it. */
export interface ReceivedPacket extends PacketFields {
  /** The stream's id: 0, 1, … in the order streams opened. */
  stream: number;
  /** The stream's `gate-name` metadata: `<gateway name>/<worker index>`. */
  gateName: string;
  kind: PacketKindValue;
  sessionId: string;
  payload: Buffer;
  /** OPEN: the session's attributes (auth claims); empty otherwise. */
  attributes: Record<string, string>;
}

export interface StreamInfo {
  id: number;
  gateName: string;
  peer: string;
  /** Open sessions (OPEN seen, CLOSE not yet) carried by this stream. */
  sessions: number;
}

export type NotifyRecord =
  | { type: 'connect'; event: SessionEvent; answered: 'ok' | 'unimplemented' }
  | { type: 'disconnect'; event: SessionEvent; answered: 'ok' | 'unimplemented' };

/** Events; `change` follows every recorded batch, stream start/end and notify call: the moment to re-check state. */
export interface MockBackendEvents {
  packet: [packet: ReceivedPacket];
  stream: [info: StreamInfo];
  'stream-end': [info: StreamInfo];
  notify: [record: NotifyRecord];
  change: [];
}
