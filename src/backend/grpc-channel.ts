/**
 * The gRPC client a stream actor uses for its endpoint. Options are set deliberately for one long-lived,
 * high-rate bidirectional stream (ARCHITECTURE.md, "Backpressure"):
 * - retries off: a retrying call buffers every message it may have to replay, without bound on a long stream;
 * - keepalive pings so a dead peer is found within keepaliveMs + keepaliveTimeoutMs even when no data flows;
 * - an explicit HTTP/2 flow-control window (grpc-js defaults to 64 KiB, which caps throughput per stream);
 * - max session memory, so the HTTP/2 session refuses instead of growing when the peer stops reading;
 * - a local subchannel pool, so each worker owns its own connection to each endpoint;
 * - the reconnect backoff of grpc-js's subchannel taken from the configuration, because grpc-js, not the stream
 *   actor, paces TCP connects (below).
 *
 * Who paces what on a reconnect (grpc-js 1.14; checked by experiment, see ARCHITECTURE.md "Faults"):
 * - a connection that was READY and drops leaves the channel IDLE; grpc-js connects again only when asked, so the
 *   stream actor's backoff (core/backoff.ts: reconnectInitialMs, reconnectMultiplier, reconnectMaxMs, full jitter) decides
 *   when the first new connect starts;
 * - once a connect has failed, the channel stays in TRANSIENT_FAILURE and grpc-js keeps reconnecting by itself until
 *   it succeeds: each attempt starts `grpc.initial_reconnect_backoff_ms` (= reconnectInitialMs) after the previous
 *   one started, growing ×1.6 with ±20 % jitter up to `grpc.max_reconnect_backoff_ms` (= reconnectMaxMs). The 1.6
 *   and the jitter are fixed in grpc-js: reconnectMultiplier does not reach TCP connects. No channel option stops
 *   these retries, and a fresh channel per attempt does not either (a closed channel's subchannel still makes its
 *   scheduled retry), so this is as far as the configuration can govern them;
 * - the actor's own backoff then paces only how often it re-checks the channel (each check that finds it failed is
 *   one circuit failure) and how soon it reopens a stream that failed on a live connection, which grpc-js does not
 *   pace at all.
 */
import * as grpc from '@grpc/grpc-js';
import type { BackendOptions } from '../core/options.ts';
import { actorgateV1 } from './proto.ts';
import type { StreamBatch } from './stream-packet.ts';
import { decodePacketBatch } from './packet-codec.ts';

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

/** The stream's method path, from the loaded proto. */
function streamPath(): string {
  return actorgateV1().GameGateway.service.StreamPackets!.path;
}

/**
 * Opens GameGateway.StreamPackets with the gateway's own codec (packet-codec.ts) in place of proto-loader's, and
 * `serialize` as the serializer, so the actor learns the exact bytes of each batch it hands to grpc-js (grpc-js
 * serializes synchronously inside `write()`). `serialize` must return `encodePacketBatch(batch)`. A batch that
 * does not decode ends the stream with INTERNAL (grpc-js catches the deserializer's PacketCodecError).
 */
export function openPacketStream(client: grpc.Client, metadata: grpc.Metadata, serialize: (batch: StreamBatch) => Buffer): grpc.ClientDuplexStream<StreamBatch, StreamBatch> {
  return client.makeBidiStreamRequest(streamPath(), serialize, decodePacketBatch, metadata);
}

/** What `whenChannelReady` reports to. */
export interface ChannelWait {
  /** Still waiting? (false once the actor moved on: the wait ends silently) */
  wanted(): boolean;
  ready(): void;
  failed(err: Error): void;
}

/**
 * Asks the channel to connect and reports once: READY, or a failure as soon as it is TRANSIENT_FAILURE (or SHUTDOWN),
 * or no READY within `timeoutMs`.
 */
export function whenChannelReady(channel: grpc.ChannelInterface, timeoutMs: number, wait: ChannelWait): void {
  const deadline = Date.now() + timeoutMs;
  const check = (): void => {
    if (!wait.wanted()) return;
    const state = channel.getConnectivityState(true);
    if (state === grpc.connectivityState.READY) return wait.ready();
    if (state === grpc.connectivityState.TRANSIENT_FAILURE || state === grpc.connectivityState.SHUTDOWN) {
      return wait.failed(new Error(`cannot connect (${grpc.connectivityState[state]})`));
    }
    channel.watchConnectivityState(state, deadline, (err) => {
      if (err && wait.wanted()) wait.failed(new Error('connect timed out'));
      else check();
    });
  };
  check();
}

/** The GameGateway client surface the stream actor uses. */
export interface GameGatewayClient extends grpc.Client {
  NotifyConnect(request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null) => void): grpc.ClientUnaryCall;
  NotifyDisconnect(request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null) => void): grpc.ClientUnaryCall;
}

export function createGameGatewayClient(endpoint: string, options: Readonly<BackendOptions>): GameGatewayClient {
  const Client = actorgateV1().GameGateway;
  return new Client(endpoint, grpc.credentials.createInsecure(), channelOptions(options)) as unknown as GameGatewayClient;
}
