/** Public API. Internals are not exported; the testkit lives at `actorgate/testkit`. */
export { startGateway, type Gateway, type DrainOptions } from './gateway.ts';
export type { GatewayOptions, RouteRule, LimitsOptions, BackendOptions, ResolvedConfig } from './core/options.ts';
export { resolveConfig } from './core/options.ts';
export type { TlsOptions } from './core/options-tls.ts';
export type { TlsReloadResult } from './supervisor/tls-reloader.ts';
export { ActorgateError, ConfigError, isActorgateError } from './core/errors.ts';
export { Code, isRetryable, codeName } from './protocol/codes.ts';
export { Control } from './protocol/control.ts';
export { encodeFrame, decodeFrame, packServerId, unpackServerId } from './protocol/frame.ts';
export { parseSessionId, workerOfSession } from './core/session-id.ts';
export { PacketKind } from './backend/proto.ts';
