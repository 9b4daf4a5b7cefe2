/**
 * A worker's end-to-end check of its Redis pub/sub path. A subscriber can stop receiving while its connection looks
 * fine (a connection a NAT or proxy silently dropped, a subscription lost in a cluster resharding), and nothing else
 * would notice: every `redis.healthCheckMs` the worker publishes a probe on its own session channel and expects it
 * back through its subscriber before the next tick. A probe that did not come back (or that Redis says nobody
 * received, or whose publish got no answer) is counted, the state turns `degraded`, and the owner replaces its
 * connections, which subscribes everything again. The next probe that comes back makes it `ok`. While the subscriber
 * is not connected at all the state is `disconnected` and nothing is probed: that outage is visible already, and its
 * reconnect policy applies. So is a probe that Redis refuses to take (on a cluster: the master owning the session
 * channel's slot is down), which does not replace anything: the other shards' channels keep working meanwhile.
 */
import { RedisHealthStates, RedisSlot, type RedisHealthState } from '../core/counters.ts';

export interface RedisHealthHooks {
  /** Whether the subscriber is connected and subscribed (its ready event ran). */
  connected(): boolean;
  /** Publishes probe `seq`; resolves with the receivers Redis counted. */
  publish(seq: number): Promise<number>;
  /** The probe went missing: replace the connections. */
  replace(): void;
  /** A state change, for the log. */
  changed(state: RedisHealthState, previous: RedisHealthState): void;
}

export class RedisHealth {
  readonly #counters: Float64Array;
  readonly #hooks: RedisHealthHooks;
  #seq = 0;
  /** The probe in flight, or 0. */
  #outstanding = 0;
  #sentAt = 0;
  #state: RedisHealthState = 'disconnected';

  constructor(counters: Float64Array, hooks: RedisHealthHooks) {
    this.#counters = counters;
    this.#hooks = hooks;
    this.#set('disconnected');
  }

  get state(): RedisHealthState {
    return this.#state;
  }

  /** One period: judge the last probe, then send the next. */
  tick(): void {
    if (this.#outstanding !== 0) {
      this.#outstanding = 0;
      this.#counters[RedisSlot.PROBES_MISSED]++;
      this.#set('degraded');
      this.#hooks.replace();
      return;
    }
    if (!this.#hooks.connected()) {
      this.#set('disconnected');
      return;
    }
    const seq = ++this.#seq;
    this.#outstanding = seq;
    this.#sentAt = performance.now();
    // Redis answering 0 receivers means our subscription is gone: the probe stays outstanding and counts as missing.
    this.#hooks.publish(seq).catch((err: Error) => {
      // No answer at all counts as missing. A publish refused (the probe connection down, or on a cluster the shard
      // owning the session channel down) is a visible outage: reported, and left to the reconnect policy.
      if (this.#outstanding !== seq || /timed out/i.test(err.message)) return;
      this.#outstanding = 0;
      this.#set('disconnected');
    });
  }

  /** A probe arrived on the subscriber. */
  received(seq: number): void {
    if (seq !== this.#outstanding) return;
    this.#outstanding = 0;
    this.#counters[RedisSlot.PROBE_RTT] = (performance.now() - this.#sentAt) / 1000;
    this.#set('ok');
  }

  /** The subscriber lost its connection (a degraded path stays degraded until a probe returns, or a tick finds it down). */
  disconnected(): void {
    this.#outstanding = 0;
    if (this.#state !== 'degraded') this.#set('disconnected');
  }

  #set(state: RedisHealthState): void {
    const previous = this.#state;
    this.#state = state;
    this.#counters[RedisSlot.HEALTH] = RedisHealthStates.indexOf(state);
    if (previous !== state) this.#hooks.changed(state, previous);
  }
}
