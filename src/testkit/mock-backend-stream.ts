/** One stream the mock backend holds open: its state, whether it still takes writes, and its public snapshot. */
import type * as grpc from '@grpc/grpc-js';
import type { PacketBatch } from '../backend/proto.ts';
import type { StreamInfo } from './mock-backend-events.ts';

export type PacketStream = grpc.ServerDuplexStream<PacketBatch, PacketBatch>;

export interface StreamState {
  readonly id: number;
  readonly gateName: string;
  readonly peer: string;
  readonly call: PacketStream;
  readonly sessions: Set<string>;
  open: boolean;
}

export function writable(state: StreamState): boolean {
  return state.open && !state.call.destroyed && !state.call.writableEnded;
}

export function streamInfo(state: StreamState): StreamInfo {
  return { id: state.id, gateName: state.gateName, peer: state.peer, sessions: state.sessions.size };
}
