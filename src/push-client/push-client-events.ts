/** What a push client tells its caller (`onEvent`) and counts (`stats()`). */

/**
 * Why a push was dropped: `invalid` (no target or two, a session id that is not a decimal u64), `overflow` (its
 * gateway's hold was full: the stream was down, or its gateway was not keeping up), `expired` (held past `maxBufferAgeMs`), `no-gateway` (no
 * live gateway to send it to), `gateway-gone` (held for a gateway that left, drained or expired), `redis-failed` (a
 * publish Redis refused or did not answer), `closed` (pushed after close()).
 */
export type DropReason = 'invalid' | 'overflow' | 'expired' | 'no-gateway' | 'gateway-gone' | 'redis-failed' | 'closed';

export const DROP_REASONS: readonly DropReason[] = Object.freeze(['invalid', 'overflow', 'expired', 'no-gateway', 'gateway-gone', 'redis-failed', 'closed']);

/** A gateway as the client knows it. */
export interface GatewayRef {
  readonly nodeId: number;
  readonly name: string;
  readonly address: string;
}

export type PushClientEvent =
  /** Pushes dropped, `count` of them for `reason`; `nodeId` when they were meant for one gateway. */
  | { readonly type: 'drop'; readonly reason: DropReason; readonly count: number; readonly nodeId?: number }
  /** A gateway joined (or was found in the registry): a stream to it is being opened. */
  | { readonly type: 'gateway-added'; readonly gateway: GatewayRef }
  /** Its stream is open: pushes for it are written. */
  | { readonly type: 'gateway-up'; readonly gateway: GatewayRef }
  /** Its stream broke: pushes for it are held (bounded) while it reconnects after `retryInMs`. */
  | { readonly type: 'gateway-down'; readonly gateway: GatewayRef; readonly error: string; readonly retryInMs: number }
  /** It left, started draining or expired from the registry: nothing more is sent to it. */
  | { readonly type: 'gateway-removed'; readonly gateway: GatewayRef; readonly reason: 'left' | 'draining' | 'expired' | 'replaced' };

export interface GatewayStatus extends GatewayRef {
  readonly state: 'connecting' | 'open' | 'backoff' | 'closed';
  /** Pushes held while the stream is not open. */
  readonly buffered: number;
  /** Pushes written to its stream. */
  readonly sent: number;
}

export interface PushClientStats {
  /** Pushes written to a gateway's stream (a user or topic push counts once per gateway). */
  readonly direct: number;
  /** Pushes published on Redis. */
  readonly viaRedis: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly gateways: readonly GatewayStatus[];
}
