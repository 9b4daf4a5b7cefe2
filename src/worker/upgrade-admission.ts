/**
 * Whether one more connection may open, by the limits that span the process (docs/PROTOCOL.md §1): its connections
 * (`limits.maxConnections`), each client address's connections (`limits.maxConnectionsPerIp`), and how fast the
 * process and each address open them (`limits.upgradesPerSecond`, `limits.upgradesPerSecondPerIp`). The counts live in
 * memory the supervisor shares with every worker (admission-memory.ts); this worker counts its own sessions there.
 * A refusal is an HTTP 429 (one address's limit) or 503 (the process's) with the JSON body of http-refusal.ts.
 */
import type uWS from 'uWebSockets.js';
import type { LimitsOptions } from '../core/options.ts';
import { LimitSlot, UpgradeRefusals, type UpgradeRefusal } from '../core/counters.ts';
import { AdmissionMemory } from '../core/admission-memory.ts';
import { ConnectionSketch } from '../core/connection-sketch.ts';
import { UpgradeRates } from '../core/shared-rate.ts';
import { limitKey } from '../core/ip-address.ts';
import { Code } from '../protocol/codes.ts';
import { writeRefusal, type RefusalStatus } from '../protocol/http-refusal.ts';

/** The status and code each refusal is answered with (subprotocol refusals keep their plain 400). */
const ANSWERS: Record<Exclude<UpgradeRefusal, 'subprotocol'>, readonly [RefusalStatus, number]> = {
  not_accepting: [503, Code.TOO_MANY_CONNECTIONS],
  worker_connections: [503, Code.TOO_MANY_CONNECTIONS],
  connections: [503, Code.TOO_MANY_CONNECTIONS],
  ip_connections: [429, Code.TOO_MANY_CONNECTIONS_PER_IP],
  upgrade_rate: [503, Code.TOO_MANY_UPGRADES],
  ip_upgrade_rate: [429, Code.TOO_MANY_UPGRADES_PER_IP],
  url_too_long: [414, Code.URL_TOO_LONG],
  headers_too_large: [431, Code.HEADERS_TOO_LARGE],
  user_connections: [429, Code.TOO_MANY_CONNECTIONS_PER_USER],
  user_limit_unavailable: [503, Code.USER_LIMIT_UNAVAILABLE],
};

/** A refused upgrade: counted under `refusal`, answered with its status and code. */
export interface UpgradeDenial {
  readonly refusal: Exclude<UpgradeRefusal, 'subprotocol'>;
  readonly reason: string;
}

/** Answers a denial (inside uWS's handler or a cork) with its status and code, and closes the connection. */
export function writeDenial(res: uWS.HttpResponse, denial: UpgradeDenial): void {
  const [status, code] = ANSWERS[denial.refusal];
  writeRefusal(res, status, code, denial.reason);
}

export class UpgradeAdmission {
  readonly #limits: Readonly<LimitsOptions>;
  readonly #sketch: ConnectionSketch;
  readonly #rates: UpgradeRates;
  readonly #counters: Float64Array;
  readonly #perIp: boolean;

  constructor(limits: Readonly<LimitsOptions>, buffer: SharedArrayBuffer, worker: number, counters: Float64Array) {
    const memory = new AdmissionMemory(buffer);
    this.#limits = limits;
    this.#sketch = new ConnectionSketch(memory, worker);
    this.#rates = new UpgradeRates(
      memory,
      { perSecond: limits.upgradesPerSecond, burst: limits.upgradeBurst },
      { perSecond: limits.upgradesPerSecondPerIp, burst: limits.upgradeBurstPerIp },
    );
    this.#counters = counters;
    this.#perIp = limits.maxConnectionsPerIp > 0;
  }

  /** The connection limits, which hold at any moment: checked at the upgrade and again before a late one completes. */
  connections(address: string): UpgradeDenial | undefined {
    const limits = this.#limits;
    if (limits.maxConnections > 0 && this.#sketch.total() >= limits.maxConnections) return { refusal: 'connections', reason: `the gateway holds limits.maxConnections (${limits.maxConnections})` };
    if (this.#perIp && this.#sketch.count(limitKey(address)) >= limits.maxConnectionsPerIp) {
      return { refusal: 'ip_connections', reason: `this address holds limits.maxConnectionsPerIp (${limits.maxConnectionsPerIp})` };
    }
    return undefined;
  }

  /**
   * The rates, taken once per upgrade request. The address's bucket first: a flood from one address empties its own
   * bucket and stops there, instead of draining the process's for everyone.
   */
  rates(address: string): UpgradeDenial | undefined {
    // A clock read per upgrade, not the coarse clock: the buckets are shared, and two workers' coarse clocks can be a
    // tick apart, which would make a bucket at its edge admit on one worker and refuse on the other.
    const now = performance.timeOrigin + performance.now();
    if (!this.#rates.takeAddress(limitKey(address), now)) return { refusal: 'ip_upgrade_rate', reason: `over limits.upgradesPerSecondPerIp (${this.#limits.upgradesPerSecondPerIp})` };
    if (!this.#rates.takeProcess(now)) return { refusal: 'upgrade_rate', reason: `over limits.upgradesPerSecond (${this.#limits.upgradesPerSecond})` };
    return undefined;
  }

  /** Counts a refusal by its reason (the transport also counts it in actorgate_upgrades_refused_total). */
  count(refusal: UpgradeRefusal): void {
    this.#counters[LimitSlot.UPGRADE_REFUSED_BASE + UpgradeRefusals.indexOf(refusal)]++;
  }

  /** A session from `address` opened on this worker. */
  opened(address: string): void {
    this.#sketch.opened(limitKey(address), this.#perIp);
  }

  /** A session counted by `opened` ended. */
  closed(address: string): void {
    this.#sketch.closed(limitKey(address), this.#perIp);
  }
}
