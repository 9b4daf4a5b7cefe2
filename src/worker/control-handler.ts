/**
 * Gateway control messages from clients (serverType 0): heartbeat, subscribe, unsubscribe, refresh, trace context
 * (docs/PROTOCOL.md §3).
 */
import { Code } from '../protocol/codes.ts';
import { Control, decodeTopic, decodeTraceContext, MAX_HEARTBEAT_BYTES } from '../protocol/control.ts';
import { HEADER_BYTES } from '../protocol/frame.ts';
import { TracingSlot, WorkerSlot } from '../core/counters.ts';
import type { ClientSender } from './client-sender.ts';
import type { Session } from './session.ts';
import type { Subscriptions } from './subscriptions.ts';
import type { TokenRefresh } from './token-refresh.ts';

export interface ControlContext {
  readonly counters: Float64Array;
  readonly sender: ClientSender;
  readonly subscriptions: Subscriptions;
  /** With `auth` only: without it REFRESH is an unknown control message, as before. */
  readonly refresh?: TokenRefresh | undefined;
}

/** Handles one control message; false when it is unknown or malformed (the caller refuses it as a violation). */
export function handleControl(ctx: ControlContext, session: Session, msgId: number, message: ArrayBuffer): boolean {
  switch (msgId) {
    case Control.HEARTBEAT:
      if (message.byteLength - HEADER_BYTES > MAX_HEARTBEAT_BYTES) return false;
      ctx.counters[WorkerSlot.HEARTBEATS]++;
      ctx.sender.send(session, message);
      return true;
    case Control.SUBSCRIBE:
    case Control.UNSUBSCRIBE: {
      const topic = decodeTopic(new Uint8Array(message, HEADER_BYTES));
      const subscribing = msgId === Control.SUBSCRIBE;
      if (topic === undefined) ctx.subscriptions.refuse(session, subscribing ? Control.SUBSCRIBE_RESULT : Control.UNSUBSCRIBE_RESULT, Code.BAD_TOPIC, '');
      else if (subscribing) ctx.subscriptions.request(session, topic);
      else ctx.subscriptions.leave(session, topic);
      return true;
    }
    case Control.REFRESH:
      if (ctx.refresh === undefined) return false;
      ctx.refresh.handle(session, new Uint8Array(message, HEADER_BYTES));
      return true;
    case Control.TRACE_CONTEXT: {
      const context = decodeTraceContext(new Uint8Array(message, HEADER_BYTES));
      if (context === undefined) return false;
      // A later one replaces it: the context belongs to the next DATA, whichever message set it last.
      session.traceContext = context;
      ctx.counters[TracingSlot.TRACE_CONTEXTS]++;
      return true;
    }
    default:
      return false;
  }
}
