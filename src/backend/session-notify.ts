/**
 * The unary NotifyConnect/NotifyDisconnect calls, for routes with `notify: true` (backends written against the older
 * contract). A backend that answers UNIMPLEMENTED is not asked again by this actor.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../core/logger.ts';
import type { GameGatewayClient } from './grpc-channel.ts';
import type { SessionInfo } from './stream-actor.ts';

export interface NotifyContext {
  gateName: string;
  worker: number;
  code: number;
  reason: string;
  timeoutMs: number;
}

export function notifySession(
  client: GameGatewayClient,
  method: 'NotifyConnect' | 'NotifyDisconnect',
  session: SessionInfo,
  context: NotifyContext,
  state: { unimplemented: boolean },
  logger: Logger,
  onFailure: () => void,
): void {
  if (state.unimplemented) return;
  const event = {
    sessionId: session.id,
    userId: session.userId ?? '',
    remoteAddress: session.remoteAddress,
    gateName: context.gateName,
    worker: context.worker,
    attributes: { ...session.attributes, path: session.path },
    code: context.code,
    reason: context.reason,
  };
  client[method](event, new grpc.Metadata(), { deadline: Date.now() + context.timeoutMs }, (err) => {
    if (err === null) return;
    if (err.code === grpc.status.UNIMPLEMENTED) {
      state.unimplemented = true;
      logger.info({ method }, 'backend does not implement session notifications; not calling them again');
      return;
    }
    onFailure();
  });
}
