/**
 * Gateway control messages from clients (serverType 0): heartbeat, subscribe, unsubscribe. docs/PROTOCOL.md.
 */
import { Code } from '../protocol/codes.ts';
import { Control, decodeTopic, encodeTopicResult, MAX_HEARTBEAT_BYTES } from '../protocol/control.ts';
import { WorkerSlot } from '../core/counters.ts';
import type { LimitsOptions } from '../core/options.ts';
import type { Session } from './session.ts';
import type { TopicPolicy } from './topic-policy.ts';

export interface ControlContext {
  readonly limits: Readonly<LimitsOptions>;
  readonly policy: TopicPolicy;
  readonly counters: Float64Array;
  send(session: Session, bytes: Uint8Array | ArrayBuffer): void;
  /**
   * Forwards a client subscription to the backend that authorizes the topic (route `authorizeTopics`); false when
   * no route authorizes it. The backend's answer arrives as a SUBSCRIBE packet.
   */
  authorize(session: Session, topic: string): boolean;
  /** A session subscribed to / left a topic (Redis interest follows it). */
  topicAdded(topic: string): void;
  topicRemoved(topic: string): void;
}

/** Handles one control message; false when it is unknown or malformed (the caller refuses it). */
export function handleControl(ctx: ControlContext, session: Session, msgId: number, message: ArrayBuffer): boolean {
  switch (msgId) {
    case Control.HEARTBEAT:
      if (message.byteLength - 8 > MAX_HEARTBEAT_BYTES) return false;
      ctx.counters[WorkerSlot.HEARTBEATS]++;
      ctx.send(session, message);
      return true;
    case Control.SUBSCRIBE: {
      const topic = decodeTopic(new Uint8Array(message, 8));
      if (topic === undefined) return refuseTopic(ctx, session, Control.SUBSCRIBE_RESULT, Code.BAD_TOPIC, '');
      if (session.topics.has(topic)) return subscribe(ctx, session, topic, false);
      if (session.topics.size + session.pendingTopics.size >= ctx.limits.maxSubscriptionsPerSession) {
        return refuseTopic(ctx, session, Control.SUBSCRIBE_RESULT, Code.TOO_MANY_SUBSCRIPTIONS, topic);
      }
      if (ctx.authorize(session, topic)) return true;
      return subscribe(ctx, session, topic, true);
    }
    case Control.UNSUBSCRIBE: {
      const topic = decodeTopic(new Uint8Array(message, 8));
      if (topic === undefined) return refuseTopic(ctx, session, Control.UNSUBSCRIBE_RESULT, Code.BAD_TOPIC, '');
      // Also cancels a request still waiting for its backend (a grant arriving later acts as a server-side subscribe).
      session.pendingTopics.delete(topic);
      unsubscribe(ctx, session, topic);
      ctx.send(session, encodeTopicResult(Control.UNSUBSCRIBE_RESULT, 0, topic));
      return true;
    }
    default:
      return false;
  }
}

/**
 * Subscribes a session to a topic on its worker (uWS pub/sub). `checkPolicy` is false for server-side subscriptions
 * from a backend; the per-session limit applies to both, so subscriptions stay bounded.
 */
export function subscribe(ctx: ControlContext, session: Session, topic: string, checkPolicy: boolean): true {
  if (checkPolicy && !ctx.policy.allows(topic)) return refuseTopic(ctx, session, Control.SUBSCRIBE_RESULT, Code.FORBIDDEN, topic);
  if (!session.topics.has(topic)) {
    if (session.topics.size >= ctx.limits.maxSubscriptionsPerSession) {
      return refuseTopic(ctx, session, Control.SUBSCRIBE_RESULT, Code.TOO_MANY_SUBSCRIPTIONS, topic);
    }
    session.topics.add(topic);
    session.ws.subscribe(topic);
    ctx.counters[WorkerSlot.SUBSCRIPTIONS]++;
    ctx.topicAdded(topic);
  }
  ctx.send(session, encodeTopicResult(Control.SUBSCRIBE_RESULT, 0, topic));
  return true;
}

export function unsubscribe(ctx: ControlContext, session: Session, topic: string): void {
  if (!session.topics.delete(topic)) return;
  session.ws.unsubscribe(topic);
  ctx.counters[WorkerSlot.SUBSCRIPTIONS]--;
  ctx.topicRemoved(topic);
}

export function refuseTopic(ctx: ControlContext, session: Session, msgId: typeof Control.SUBSCRIBE_RESULT | typeof Control.UNSUBSCRIBE_RESULT, code: number, topic: string): true {
  ctx.counters[WorkerSlot.SUBSCRIBE_REFUSED]++;
  ctx.send(session, encodeTopicResult(msgId, code, topic));
  return true;
}
