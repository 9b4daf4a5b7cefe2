/**
 * `actorgate/push-client`: a push client for logic servers. It finds the gateways in the registry Redis holds, keeps
 * one GatewayPush stream to each, sends a session push straight to the gateway its id names, and user and topic
 * pushes to every gateway (or once through Redis). README.md, "Gateway registry and the push client", shows its use.
 */
export { PushClient, connectPushClient, type Push } from './push-client.ts';
export type { PushClientOptions, PushClientTls } from './push-client-options.ts';
export type { DropReason, GatewayRef, GatewayStatus, PushClientEvent, PushClientStats } from './push-client-events.ts';
export type { InstanceEntry, InstanceState, InstanceAnnouncement } from '../control/registry-entry.ts';
