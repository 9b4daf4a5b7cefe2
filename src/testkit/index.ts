/**
 * The public testkit (`actorgate/testkit`): a mock backend, a protocol client and deadline-bound waits for test rigs.
 */
export { MockBackend, startMockBackend } from './mock-backend.ts';
export type { MockBackendEvents, MockBackendMode, MockBackendOptions, NotifyRecord, OutboundPacket, ReceivedPacket, StreamInfo } from './mock-backend.ts';
export { ClientClosedError, ConnectError, ProtocolClient, SUBPROTOCOL, connectClient } from './protocol-client.ts';
export type { CloseInfo, ControlOf, ControlType, ProtocolClientEvents, ProtocolClientOptions, ReceivedFrame } from './protocol-client.ts';
export { WaitTimeoutError, waitUntil } from './wait.ts';
export { freePort } from './free-port.ts';
export { decodeFrame, encodeFrame, packServerId, unpackServerId } from '../protocol/frame.ts';
export type { DecodedFrame, ServerIdParts } from '../protocol/frame.ts';
export { Control, decodeControl } from '../protocol/control.ts';
export type { ControlMessage } from '../protocol/control.ts';
export { Code, codeName, isRetryable } from '../protocol/codes.ts';
export { PacketKind } from '../backend/proto.ts';
export type { Packet, PacketBatch, PacketKindValue, SessionEvent } from '../backend/proto.ts';
export { injectWorkerFault } from './fault.ts';
