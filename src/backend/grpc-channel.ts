/**
 * The gRPC client a stream actor uses for its endpoint. Options are set deliberately for one long-lived,
 * high-rate bidirectional stream (ARCHITECTURE.md, "Backpressure"):
 * - retries off: a retrying call buffers every message it may have to replay, without bound on a long stream;
 * - keepalive pings so a dead peer is found within keepaliveMs + keepaliveTimeoutMs even when no data flows;
 * - an explicit HTTP/2 flow-control window (grpc-js defaults to 64 KiB, which caps throughput per stream);
 * - max session memory, so the HTTP/2 session refuses instead of growing when the peer stops reading;
 * - a local subchannel pool, so each worker owns its own connection to each endpoint.
 */
import * as grpc from '@grpc/grpc-js';
import type { BackendOptions } from '../core/options.ts';
import { actorgateV1 } from './proto.ts';

export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export function channelOptions(options: Readonly<BackendOptions>): grpc.ChannelOptions {
  return {
    'grpc.enable_retries': 0,
    'grpc.keepalive_time_ms': options.keepaliveMs,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc-node.flow_control_window': options.flowControlWindowBytes,
    'grpc-node.max_session_memory': 64,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.initial_reconnect_backoff_ms': options.reconnectInitialMs,
    'grpc.max_reconnect_backoff_ms': options.reconnectMaxMs,
    'grpc.use_local_subchannel_pool': 1,
  };
}

/** The GameGateway client surface the stream actor uses. */
export interface GameGatewayClient extends grpc.Client {
  StreamPackets(metadata: grpc.Metadata): grpc.ClientDuplexStream<unknown, unknown>;
  NotifyConnect(request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null) => void): grpc.ClientUnaryCall;
  NotifyDisconnect(request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null) => void): grpc.ClientUnaryCall;
}

export function createGameGatewayClient(endpoint: string, options: Readonly<BackendOptions>): GameGatewayClient {
  const Client = actorgateV1().GameGateway;
  return new Client(endpoint, grpc.credentials.createInsecure(), channelOptions(options)) as unknown as GameGatewayClient;
}
