/**
 * Loads proto/*.proto at run time (no generated code to keep in step). `longs: String` turns fixed64 session ids into
 * decimal strings, the form every JavaScript API of the gateway uses; `bytes` stay Buffers (no copy). The gateway's
 * own side of StreamPackets uses packet-codec.ts instead, with the session id as two 32-bit words.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoDir } from '../core/paths.ts';

export const PacketKind = {
  DATA: 0,
  OPEN: 1,
  CLOSE: 2,
  SUBSCRIBE: 3,
  UNSUBSCRIBE: 4,
  BIND_USER: 5,
} as const;
export type PacketKindValue = (typeof PacketKind)[keyof typeof PacketKind];

/**
 * A Packet as proto-loader hands it over (decoded) or takes it (to encode), for backends and the testkit; absent
 * fields take proto3 defaults. The gateway's own side of the stream uses StreamPacket (stream-packet.ts).
 */
export interface Packet {
  sessionId?: string;
  msgId?: number;
  serverId?: number;
  payload?: Uint8Array;
  kind?: PacketKindValue;
  traceparent?: string;
  code?: number;
  reason?: string;
  topic?: string;
  userId?: string;
  path?: string;
  remoteAddress?: string;
  /** OPEN only: the session's attributes (auth claims). */
  attributes?: Record<string, string>;
}

/** The fields a decoded Packet always has besides its session id, kind and payload (proto3 defaults filled in). */
export interface PacketFields {
  msgId: number;
  serverId: number;
  traceparent: string;
  code: number;
  reason: string;
  topic: string;
  userId: string;
  path: string;
  remoteAddress: string;
}

export interface PacketBatch {
  packets: Packet[];
}

export interface SessionEvent {
  sessionId: string;
  userId?: string;
  remoteAddress?: string;
  gateName?: string;
  worker?: number;
  attributes?: Record<string, string>;
  code?: number;
  reason?: string;
}

const loaderOptions: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: Number,
  defaults: true,
  oneofs: true,
};

let cached: grpc.GrpcObject | undefined;

export function loadProtos(): grpc.GrpcObject {
  cached ??= grpc.loadPackageDefinition(
    protoLoader.loadSync([join(protoDir, 'gateway.proto'), join(protoDir, 'push.proto'), join(protoDir, 'auth.proto')], loaderOptions),
  );
  return cached;
}

interface ActorgateV1 {
  GameGateway: grpc.ServiceClientConstructor;
  GatewayPush: grpc.ServiceClientConstructor;
  GatewayAuth: grpc.ServiceClientConstructor;
}

export function actorgateV1(): ActorgateV1 {
  const root = loadProtos() as unknown as { actorgate: { v1: ActorgateV1 } };
  return root.actorgate.v1;
}

/** The GameGateway service definition, for backends (and the testkit's mock backend) to implement. */
export function gameGatewayService(): grpc.ServiceDefinition {
  return actorgateV1().GameGateway.service;
}

export function gatewayPushService(): grpc.ServiceDefinition {
  return actorgateV1().GatewayPush.service;
}

/** The GatewayAuth service definition (proto/auth.proto), for auth services (and tests) to implement. */
export function gatewayAuthService(): grpc.ServiceDefinition {
  return actorgateV1().GatewayAuth.service;
}

/** An AuthenticateRequest as proto-loader hands it to an auth service. */
export interface AuthenticateRequest {
  token: string;
  headers: Record<string, string>;
  remoteAddress: string;
  path: string;
  refresh: boolean;
  /** A REFRESH's session user ('' for an upgrade). */
  userId: string;
}

/** An AuthenticateResponse as an auth service writes it (absent fields take proto3 defaults). */
export interface AuthenticateResponse {
  allow?: boolean;
  userId?: string;
  attributes?: Record<string, string>;
  topics?: string[];
  /** Unix seconds; a decimal string when read back (`longs: String`). */
  expiresAt?: number | string;
  code?: number;
  reason?: string;
}
