/**
 * Delivers pushes inside a worker: to a session by id, to every local session of a user (the shard's user index,
 * no scan), or to a topic's local subscribers (uWS per-worker publish), and counts each one. A batch from the
 * supervisor is one msgpack buffer (push-item.ts) answered with the sessions each push reached. A push the router
 * stamped (PushItem.a) is timed from the push API to its client send, if it reached one (stage-probes.ts).
 */
import type uWS from 'uWebSockets.js';
import { WorkerSlot } from '../core/counters.ts';
import { encodeFrame } from '../protocol/frame.ts';
import { Target, unpackItems, type PushItem } from '../push/push-item.ts';
import type { ClientSender } from './client-sender.ts';
import type { SessionShard } from './session-shard.ts';
import { observePush } from './stage-probes.ts';
import type { TopicTally } from './topic-tally.ts';

/** Where topic pushes go: a uWS app, or the transport that publishes on each of its apps. */
export type TopicPublisher = Pick<uWS.TemplatedApp, 'numSubscribers' | 'publish'>;

export class PushDelivery {
  readonly #shard: SessionShard;
  readonly #sender: ClientSender;
  readonly #counters: Float64Array;
  /** With the access log on: what topic publishes sent each session. */
  readonly #tally: TopicTally | undefined;
  #app: TopicPublisher | undefined;

  constructor(shard: SessionShard, sender: ClientSender, counters: Float64Array, tally?: TopicTally) {
    this.#shard = shard;
    this.#sender = sender;
    this.#counters = counters;
    this.#tally = tally;
  }

  /** The worker's uWS apps (its ClientTransport), once they exist: topic pushes publish through them. */
  attach(app: TopicPublisher): void {
    this.#app = app;
  }

  /** A batch of pushes from the supervisor: the sessions each one reached. */
  deliverBatch(bytes: Uint8Array): Uint32Array {
    const items = unpackItems(bytes);
    const counts = new Uint32Array(items.length);
    for (let i = 0; i < items.length; i++) counts[i] = this.deliver(items[i]!);
    return counts;
  }

  /** One push (push API, Redis, backend topic publish): delivered to local sessions, counted. Returns sessions reached. */
  deliver(item: PushItem): number {
    const reached = this.#deliver(item);
    const counters = this.#counters;
    if (reached === 0) counters[WorkerSlot.PUSH_NO_TARGET]++;
    else {
      counters[WorkerSlot.PUSH_DELIVERED]++;
      counters[WorkerSlot.PUSH_SESSIONS_REACHED] += reached;
      if (item.a !== 0) observePush(counters, item.a);
    }
    return reached;
  }

  #deliver(item: PushItem): number {
    switch (item.t) {
      case Target.SESSION: {
        const session = this.#shard.get(item.l, item.h);
        if (session === undefined || session.closed) return 0;
        this.#sender.send(session, encodeFrame(item.m, item.s, item.p));
        return 1;
      }
      case Target.USER: {
        const sessions = this.#shard.sessionsOfUser(item.k);
        if (sessions === undefined) return 0;
        const frame = encodeFrame(item.m, item.s, item.p);
        for (const session of sessions) this.#sender.send(session, frame);
        return sessions.size;
      }
      case Target.TOPIC: {
        const app = this.#app;
        if (app === undefined) return 0;
        const reached = app.numSubscribers(item.k);
        if (reached > 0) {
          const frame = encodeFrame(item.m, item.s, item.p);
          app.publish(item.k, frame, true, false);
          this.#tally?.published(item.k, frame.byteLength);
        }
        return reached;
      }
    }
  }
}
