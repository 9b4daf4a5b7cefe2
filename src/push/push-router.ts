/**
 * Routes pushes from the push API (gRPC, HTTP) to the workers that hold their targets, on the supervisor thread.
 *
 * - session target: the session id names its node and worker, so the push goes to that one worker (one hop), or,
 *   for another gateway instance's session, to that instance's session channel on Redis;
 * - user and topic targets: every local worker (each has its own user index and uWS topic subscribers), and, with
 *   Redis, the topic or user channel for the other instances (tagged with our node id, which we skip on receipt).
 *
 * One msgpack buffer per worker per call. Workers answer with the sessions reached per item; the summary's
 * `delivered` counts sessions reached on this instance, `dropped` invalid pushes and pushes that reached nobody.
 * Bounded: past `MAX_PENDING` unanswered calls, further pushes are dropped (counted) rather than queued.
 * One valid push in `metrics.stageSampleEvery` is stamped with the time it came in (PushItem.a), and the worker that
 * delivers it times its push stage (src/worker/stage-probes.ts).
 */
import type { Logger } from '../core/logger.ts';
import { parseSessionId } from '../core/session-id.ts';
import type { ResolvedConfig } from '../core/options.ts';
import { channelOf, encodeEnvelope } from '../control/redis-channels.ts';
import type { RedisPublisher } from '../control/redis-publisher.ts';
import { packItems, Target, toPushItem, type PushInput, type PushItem } from './push-item.ts';

export interface PushSummary {
  accepted: number;
  delivered: number;
  dropped: number;
}

/** How the router reaches the workers (the supervisor). */
export interface PushWorkers {
  readonly count: number;
  /** Posts a batch to a running worker; false when the worker is not running (its share counts as reached 0). */
  post(worker: number, id: number, items: Uint8Array): boolean;
}

const MAX_PENDING = 1024;
const RESULT_DEADLINE_MS = 5000;

interface Pending {
  items: PushItem[];
  reached: Uint32Array;
  /** Per worker: the indexes (into items) it was sent, in order. */
  sent: Map<number, number[]>;
  remote: Promise<number>[];
  remoteAt: number[];
  summary: PushSummary;
  resolve: (summary: PushSummary) => void;
  timer: NodeJS.Timeout;
  finishing: boolean;
}

/** Counters the supervisor's /metrics reads. */
export class PushStats {
  accepted = 0;
  delivered = 0;
  invalid = 0;
  noTarget = 0;
  overloaded = 0;
  redisPublished = 0;
  redisFailed = 0;
}

export class PushRouter {
  readonly stats = new PushStats();
  readonly #config: ResolvedConfig;
  readonly #workers: PushWorkers;
  readonly #publisher: RedisPublisher | undefined;
  readonly #logger: Logger;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Pushes until the next one stamped for the push stage; never 0 with sampling off. */
  #sampleIn: number;

  constructor(config: ResolvedConfig, workers: PushWorkers, publisher: RedisPublisher | undefined, logger: Logger) {
    this.#config = config;
    this.#workers = workers;
    this.#publisher = publisher;
    this.#logger = logger;
    this.#sampleIn = config.metrics.stageSampleEvery || Infinity;
  }

  /**
   * @param local deliver on this instance only, never through Redis: the caller (a push client that keeps a stream
   * to every instance, `x-actorgate-fanout: local`) sends the same user and topic pushes to the other instances itself
   */
  route(inputs: readonly PushInput[], local = false): Promise<PushSummary> {
    const stats = this.stats;
    const summary: PushSummary = { accepted: 0, delivered: 0, dropped: 0 };
    if (this.#pending.size >= MAX_PENDING) {
      summary.dropped = inputs.length;
      stats.overloaded += inputs.length;
      return Promise.resolve(summary);
    }
    const items: PushItem[] = [];
    const sent = new Map<number, number[]>();
    const remote: Promise<number>[] = [];
    const remoteAt: number[] = [];
    const toWorker = (worker: number, index: number) => {
      let list = sent.get(worker);
      if (list === undefined) sent.set(worker, (list = []));
      list.push(index);
    };
    const { nodeId, redis } = this.#config;
    // Read only when a push of this call is due to be stamped (at most one per valid push counts down).
    const receivedAt = this.#sampleIn <= inputs.length ? performance.timeOrigin + performance.now() : 0;
    for (const input of inputs) {
      const item = toPushItem(input);
      if (item === undefined) {
        summary.dropped++;
        stats.invalid++;
        continue;
      }
      if (--this.#sampleIn === 0) {
        this.#sampleIn = this.#config.metrics.stageSampleEvery;
        item.a = receivedAt;
      }
      summary.accepted++;
      const index = items.push(item) - 1;
      if (item.t === Target.SESSION) {
        const owner = parseSessionId(item.k);
        if (owner.nodeId === nodeId && owner.worker < this.#workers.count) toWorker(owner.worker, index);
        else if (owner.nodeId !== nodeId && this.#publisher !== undefined && !local) this.#publish(channelOf(redis!.prefix, item, owner.nodeId, owner.worker), item, index, remote, remoteAt);
        // else: a session of no worker we know and no Redis to ask: reaches nobody
      } else {
        for (let w = 0; w < this.#workers.count; w++) toWorker(w, index);
        if (this.#publisher !== undefined && !local) this.#publish(channelOf(redis!.prefix, item, 0, 0), item, index, remote, remoteAt);
      }
    }
    stats.accepted += summary.accepted;
    return new Promise<PushSummary>((resolve) => {
      const id = this.#nextId++;
      const pending: Pending = {
        items,
        reached: new Uint32Array(items.length),
        sent,
        remote,
        remoteAt,
        summary,
        resolve,
        timer: setTimeout(() => this.#finish(id), RESULT_DEADLINE_MS).unref(),
        finishing: false,
      };
      this.#pending.set(id, pending);
      for (const [worker, indexes] of sent) {
        if (!this.#workers.post(worker, id, packItems(indexes.map((i) => items[i]!)))) sent.delete(worker);
      }
      if (sent.size === 0) this.#finish(id);
    });
  }

  /** A worker's answer: sessions reached per item of the batch it was sent. */
  onResult(worker: number, id: number, counts: Uint32Array): void {
    const pending = this.#pending.get(id);
    const indexes = pending?.sent.get(worker);
    if (pending === undefined || indexes === undefined || pending.finishing) return;
    for (let i = 0; i < indexes.length; i++) pending.reached[indexes[i]!]! += counts[i] ?? 0;
    pending.sent.delete(worker);
    if (pending.sent.size === 0) this.#finish(id);
  }

  /** A worker ended: it will not answer; what it was sent counts as reaching nobody there. */
  workerGone(worker: number): void {
    for (const [id, pending] of this.#pending) {
      if (pending.sent.delete(worker) && pending.sent.size === 0) this.#finish(id);
    }
  }

  /** Settles every pending call (at close). */
  close(): void {
    for (const id of [...this.#pending.keys()]) this.#finish(id);
  }

  #publish(channel: string, item: PushItem, index: number, remote: Promise<number>[], remoteAt: number[]): void {
    const stats = this.stats;
    remoteAt.push(index);
    remote.push(
      this.#publisher!.publish(channel, encodeEnvelope(item, this.#config.nodeId)).then(
        (receivers) => {
          stats.redisPublished++;
          return receivers;
        },
        () => {
          stats.redisFailed++;
          return 0;
        },
      ),
    );
  }

  #finish(id: number): void {
    const pending = this.#pending.get(id);
    if (pending === undefined || pending.finishing) return;
    pending.finishing = true;
    clearTimeout(pending.timer);
    const { summary, reached, remote, remoteAt, resolve } = pending;
    const settle = (remoteReceivers: number[]) => {
      const heardRemotely = new Set<number>();
      remoteReceivers.forEach((receivers, i) => receivers > 0 && heardRemotely.add(remoteAt[i]!));
      let noTarget = 0;
      for (let i = 0; i < reached.length; i++) {
        summary.delivered += reached[i]!;
        if (reached[i] === 0 && !heardRemotely.has(i)) noTarget++;
      }
      summary.dropped += noTarget;
      this.stats.delivered += summary.delivered;
      this.stats.noTarget += noTarget;
      // Only now does the call leave the pending bound: a publish still waiting on Redis counts against it.
      this.#pending.delete(id);
      resolve(summary);
    };
    if (remote.length === 0) settle([]);
    else void Promise.all(remote).then(settle);
    if (pending.sent.size > 0) this.#logger.warn({ workers: [...pending.sent.keys()] }, 'push: workers did not answer in time');
  }
}
