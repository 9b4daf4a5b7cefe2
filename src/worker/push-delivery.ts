/**
 * Delivers one push inside a worker: to a session by id, to every local session of a user (the shard's user index,
 * no scan), or to a topic's local subscribers (uWS per-worker publish). Returns the number of sessions reached.
 */
import type uWS from 'uWebSockets.js';
import { encodeFrame } from '../protocol/frame.ts';
import { Target, type PushItem } from '../push/push-item.ts';
import type { Session } from './session.ts';
import type { SessionShard } from './session-shard.ts';

export interface DeliveryContext {
  readonly shard: SessionShard;
  readonly app: uWS.TemplatedApp | undefined;
  send(session: Session, bytes: Uint8Array): void;
}

export function deliverPush(ctx: DeliveryContext, item: PushItem): number {
  const frame = encodeFrame(item.m, item.s, item.p);
  switch (item.t) {
    case Target.SESSION: {
      const session = ctx.shard.get(item.k);
      if (session === undefined || session.closed) return 0;
      ctx.send(session, frame);
      return 1;
    }
    case Target.USER: {
      const sessions = ctx.shard.sessionsOfUser(item.k);
      if (sessions === undefined) return 0;
      for (const session of sessions) ctx.send(session, frame);
      return sessions.size;
    }
    case Target.TOPIC: {
      const app = ctx.app;
      if (app === undefined) return 0;
      const reached = app.numSubscribers(item.k);
      if (reached > 0) app.publish(item.k, frame, true, false);
      return reached;
    }
  }
}
