/**
 * What a worker's sessions are subscribed to, owned in one place: topic add and remove (uWS pub/sub), requests
 * waiting for a backend's authorization, the SUBSCRIPTIONS gauge, and, with Redis, the reference counts of the topic
 * and user channels this worker needs. `release()` gives back everything a session held when it ends, so closing a
 * session cannot leave a count behind.
 *
 * A client's SUBSCRIBE is granted here when the topic policy (`topics.allow`) or the session's token (its topics
 * claim) allows it, or forwarded to the backend whose route authorizes it (`authorizeTopics`), whose answer arrives as
 * a SUBSCRIBE packet (backend-inbound.ts).
 * Subscriptions per session are bounded by `limits.maxSubscriptionsPerSession`, pending requests included, and
 * server-side subscriptions from backends too.
 */
import { WorkerSlot } from '../core/counters.ts';
import type { LimitsOptions } from '../core/options.ts';
import { Code } from '../protocol/codes.ts';
import { Control, encodeTopicResult } from '../protocol/control.ts';
import { packServerId } from '../protocol/frame.ts';
import { PacketKind } from '../backend/proto.ts';
import { SendResult } from '../backend/stream-actor.ts';
import { sessionPacket } from '../backend/stream-packet.ts';
import type { RedisFanout } from '../control/redis-fanout.ts';
import type { BackendRouter } from './backend-router.ts';
import type { ClientSender } from './client-sender.ts';
import type { Session } from './session.ts';
import type { SessionShard } from './session-shard.ts';
import type { TopicPolicy } from './topic-policy.ts';
import type { TopicTally } from './topic-tally.ts';

type ResultId = typeof Control.SUBSCRIBE_RESULT | typeof Control.UNSUBSCRIBE_RESULT;

export class Subscriptions {
  readonly #limits: Readonly<LimitsOptions>;
  readonly #policy: TopicPolicy;
  readonly #counters: Float64Array;
  readonly #sender: ClientSender;
  readonly #shard: SessionShard;
  readonly #backends: BackendRouter;
  /** With the access log on: what topic publishes sent each session. */
  readonly #tally: TopicTally | undefined;
  #fanout: RedisFanout | undefined;

  constructor(limits: Readonly<LimitsOptions>, policy: TopicPolicy, counters: Float64Array, sender: ClientSender, shard: SessionShard, backends: BackendRouter, tally?: TopicTally) {
    this.#limits = limits;
    this.#policy = policy;
    this.#counters = counters;
    this.#sender = sender;
    this.#shard = shard;
    this.#backends = backends;
    this.#tally = tally;
  }

  /** With Redis: channel interest follows local demand from now on (the worker attaches it once, at start). */
  attach(fanout: RedisFanout): void {
    this.#fanout = fanout;
  }

  /** A client's SUBSCRIBE. */
  request(session: Session, topic: string): void {
    if (session.topics.has(topic)) return this.subscribe(session, topic, false);
    if (session.topics.size + session.pendingTopics.size >= this.#limits.maxSubscriptionsPerSession) {
      return this.refuse(session, Control.SUBSCRIBE_RESULT, Code.TOO_MANY_SUBSCRIPTIONS, topic);
    }
    if (!this.#forward(session, topic)) this.subscribe(session, topic, true);
  }

  /** A client's UNSUBSCRIBE; also cancels a request still waiting for its backend (a later grant then acts as a server-side subscribe). */
  leave(session: Session, topic: string): void {
    session.pendingTopics.delete(topic);
    this.unsubscribe(session, topic);
    this.#sender.send(session, encodeTopicResult(Control.UNSUBSCRIBE_RESULT, 0, topic));
  }

  /**
   * Subscribes a session and tells the client. `checkPolicy` is false for a backend's grant or server-side
   * subscription; the per-session limit applies to both.
   */
  subscribe(session: Session, topic: string, checkPolicy: boolean): void {
    if (checkPolicy && !this.#policy.allows(topic) && session.auth?.topics?.allows(topic) !== true) {
      return this.refuse(session, Control.SUBSCRIBE_RESULT, Code.FORBIDDEN, topic);
    }
    if (!session.topics.has(topic)) {
      if (session.topics.size >= this.#limits.maxSubscriptionsPerSession) {
        return this.refuse(session, Control.SUBSCRIBE_RESULT, Code.TOO_MANY_SUBSCRIPTIONS, topic);
      }
      session.topicSet().add(topic);
      session.ws.subscribe(topic);
      this.#tally?.joined(session, topic);
      this.#counters[WorkerSlot.SUBSCRIPTIONS]++;
      this.#fanout?.retainTopic(topic);
    }
    this.#sender.send(session, encodeTopicResult(Control.SUBSCRIBE_RESULT, 0, topic));
  }

  unsubscribe(session: Session, topic: string): void {
    if (!session.topics.delete(topic)) return;
    session.ws.unsubscribe(topic);
    this.#tally?.left(session, topic);
    this.#counters[WorkerSlot.SUBSCRIPTIONS]--;
    this.#fanout?.releaseTopic(topic);
  }

  /** A backend answered a forwarded request (code 0: granted), or subscribed the session on its own. */
  answered(session: Session, topic: string, code: number): void {
    if (code === 0) {
      session.pendingTopics.delete(topic);
      return this.subscribe(session, topic, false);
    }
    // A refusal answers a pending request only; a code outside the client range reads as FORBIDDEN.
    if (session.pendingTopics.delete(topic)) this.refuse(session, Control.SUBSCRIBE_RESULT, code >= 4000 && code <= 4999 ? code : Code.FORBIDDEN, topic);
  }

  /** A forwarded request that never reached its backend (expired, failed over): the client gets its result. */
  dropped(session: Session, topic: string, code: number): void {
    if (session.pendingTopics.delete(topic)) this.refuse(session, Control.SUBSCRIBE_RESULT, code, topic);
  }

  /** Binds a user id to a session (backend BIND_USER): the shard's user index and the user channel follow it. */
  bindUser(session: Session, userId: string): void {
    const previous = session.userId;
    if (previous === userId) return;
    if (previous !== undefined) this.#fanout?.releaseUser(previous);
    this.#shard.bindUser(session, userId);
    this.#fanout?.retainUser(userId);
  }

  /** The session ended: gives back its topics and its user's channel (uWS drops a closed socket's topics itself). */
  release(session: Session): void {
    this.#counters[WorkerSlot.SUBSCRIPTIONS] -= session.topics.size;
    const tally = this.#tally;
    if (tally !== undefined) for (const topic of session.topics) tally.left(session, topic);
    const fanout = this.#fanout;
    if (fanout !== undefined) {
      for (const topic of session.topics) fanout.releaseTopic(topic);
      if (session.userId !== undefined) fanout.releaseUser(session.userId);
    }
    session.topics.clear();
    session.pendingTopics.clear();
  }

  refuse(session: Session, resultId: ResultId, code: number, topic: string): void {
    this.#counters[WorkerSlot.SUBSCRIBE_REFUSED]++;
    this.#sender.send(session, encodeTopicResult(resultId, code, topic));
  }

  /** Forwards the request to the backend whose route authorizes the topic; false when no route does. */
  #forward(session: Session, topic: string): boolean {
    const route = this.#backends.authorizerOf(topic);
    if (route === undefined) return false;
    const { rule } = route;
    const packet = sessionPacket(PacketKind.SUBSCRIBE, session.idLo, session.idHi);
    packet.topic = topic;
    packet.serverId = packServerId({ serverType: rule.serverType, worldId: rule.worldId, instId: rule.instId });
    const actor = this.#backends.actorFor(session, route, packet.serverId);
    const result = actor === undefined ? SendResult.UNAVAILABLE : actor.send(packet);
    if (result === SendResult.QUEUED) session.pendingSet().add(topic);
    else this.refuse(session, Control.SUBSCRIBE_RESULT, result === SendResult.UNAVAILABLE ? Code.BACKEND_UNAVAILABLE : Code.BACKEND_OVERLOADED, topic);
    return true;
  }
}
