/**
 * `limits.maxConnectionsPerUser`: how many connections one user (the upgrade's token) holds across every gateway
 * instance sharing Redis (docs/PROTOCOL.md §12). Each worker counts its own sessions in Redis, on its own connection,
 * at the upgrade: after the token's verdict named the user, one Lua script checks the user's total and takes a place
 * atomically, and the upgrade completes (corked, async-upgrade.ts) or gets 429 TOO_MANY_CONNECTIONS_PER_USER. A
 * session's close gives its place back. Nothing here runs while the limit is off, or for a session without a user
 * (anonymous; a backend's later BIND_USER is not counted either).
 *
 * The record is a hash `<prefix>user-conns:<user>` with one field per worker incarnation (`<nodeId>:<worker>:<random>`)
 * holding that worker's count. A field counts only while its lease key `<prefix>user-conns-live:<field>` exists: the
 * worker sets it with a TTL of `limits.userConnectionsLeaseMs`, refreshes it every third of that, and deletes it when
 * it closes; the script deletes a field whose lease is gone when it meets it. So an instance (or a worker) that dies
 * stops counting within the lease, one that closes at once; a restarted worker voids its predecessor's lease at once
 * (`<prefix>user-conns-slot:<nodeId>:<worker>` names the incarnation). After a reconnect the worker writes its own
 * counts again, which repairs what a lost reply or an expired lease left wrong.
 *
 * Redis down, or slower than `limits.userConnectionsTimeoutMs`: the check counts as failed
 * (`actorgate_user_connection_check_failures_total`), and the upgrade is admitted uncounted
 * (`limits.userConnectionsFailOpen`, the default) or refused with 503 USER_LIMIT_UNAVAILABLE. The scripts touch keys
 * they are not given (the lease keys, one per worker incarnation, on any slot), so this needs a standalone Redis:
 * `resolveConfig` refuses the limit together with `redis.cluster`.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type uWS from 'uWebSockets.js';
import type { Logger } from '../core/logger.ts';
import type { ResolvedConfig } from '../core/options.ts';
import { LimitSlot } from '../core/counters.ts';
import { redisRetryDelayMs } from '../control/redis-reconnect.ts';
import { completeLater, type Corkable } from './async-upgrade.ts';
import type { Session, SocketData } from './session.ts';
import type { UpgradeDenial } from './upgrade-admission.ts';

/** KEYS[1] the user's hash. ARGV: this worker's field, the limit, the lease key prefix, the record's TTL. -1: full. */
const ADMIT = `
local fields = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
  local field = fields[i]
  if field == ARGV[1] or redis.call('EXISTS', ARGV[3] .. field) == 1 then
    total = total + tonumber(fields[i + 1])
  else
    redis.call('HDEL', KEYS[1], field)
  end
end
if total >= tonumber(ARGV[2]) then return -1 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return total + 1`;

/** KEYS[1] the user's hash. ARGV: this worker's field. */
const RELEASE = `
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;

/** KEYS[1] the user's hash. ARGV: this worker's field, its count (0: none), the record's TTL. */
const WRITE = `
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0`;

/** KEYS[1] the worker slot, KEYS[2] this field's lease. ARGV: the field, the lease key prefix, the lease (ms). */
const CLAIM = `
local previous = redis.call('GET', KEYS[1])
if previous and previous ~= ARGV[1] then redis.call('DEL', ARGV[2] .. previous) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
return 0`;

/** KEYS[1] the worker slot, KEYS[2] this field's lease. ARGV: the field. */
const LEAVE = `
redis.call('DEL', KEYS[2])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`;

/** A user's record outlives its last change by this long; a worker touches the records it counts in every hour. */
const RECORD_TTL_MS = 24 * 3_600_000;
const TOUCH_MS = 3_600_000;
/** How long close() waits for Redis to drop this worker's lease. */
const LEAVE_TIMEOUT_MS = 1000;

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;
interface Scripts {
  agUserAdmit: ScriptCall;
  agUserRelease: ScriptCall;
  agUserWrite: ScriptCall;
  agUserClaim: ScriptCall;
  agUserLeave: ScriptCall;
}

export class UserConnections {
  readonly #redis: Redis & Scripts;
  readonly #limit: number;
  readonly #timeoutMs: number;
  readonly #failOpen: boolean;
  readonly #leaseMs: number;
  readonly #counters: Float64Array;
  readonly #anySession: () => Corkable | undefined;
  readonly #prefix: string;
  readonly #field: string;
  readonly #livePrefix: string;
  readonly #slotKey: string;
  /** Sessions this worker counted, by user: what it writes again after a reconnect. */
  readonly #held = new Map<string, number>();
  /** Responses waiting for Redis; each can host another's late upgrade (async-upgrade.ts). */
  readonly #waiting = new Set<uWS.HttpResponse>();
  readonly #timers: NodeJS.Timeout[];
  #ready = false;

  /** The worker's counter, or undefined when `limits.maxConnectionsPerUser` is off (no Redis connection then). */
  static create(config: ResolvedConfig, worker: number, counters: Float64Array, logger: Logger, anySession: () => Corkable | undefined): UserConnections | undefined {
    if (config.limits.maxConnectionsPerUser === 0 || config.redis === null) return undefined;
    return new UserConnections(config, worker, counters, logger, anySession);
  }

  private constructor(config: ResolvedConfig, worker: number, counters: Float64Array, logger: Logger, anySession: () => Corkable | undefined) {
    const { limits, redis } = config;
    this.#limit = limits.maxConnectionsPerUser;
    this.#timeoutMs = limits.userConnectionsTimeoutMs;
    this.#failOpen = limits.userConnectionsFailOpen;
    this.#leaseMs = limits.userConnectionsLeaseMs;
    this.#counters = counters;
    this.#anySession = anySession;
    this.#prefix = `${redis!.prefix}user-conns:`;
    this.#field = `${config.nodeId}:${worker}:${randomBytes(6).toString('hex')}`;
    this.#livePrefix = `${redis!.prefix}user-conns-live:`;
    this.#slotKey = `${redis!.prefix}user-conns-slot:${config.nodeId}:${worker}`;
    // No offline queue and no resend: a command Redis cannot take now fails at once, and the check's policy applies.
    // A standalone server: resolveConfig refuses this limit with redis.cluster.
    const client = new Redis(redis!.url!, { enableOfflineQueue: false, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0, retryStrategy: redisRetryDelayMs });
    client.defineCommand('agUserAdmit', { numberOfKeys: 1, lua: ADMIT });
    client.defineCommand('agUserRelease', { numberOfKeys: 1, lua: RELEASE });
    client.defineCommand('agUserWrite', { numberOfKeys: 1, lua: WRITE });
    client.defineCommand('agUserClaim', { numberOfKeys: 2, lua: CLAIM });
    client.defineCommand('agUserLeave', { numberOfKeys: 2, lua: LEAVE });
    this.#redis = client as Redis & Scripts;
    client.on('ready', () => {
      this.#ready = true;
      // The lease first: the commands after it on this connection are counted under a live field.
      this.#claim();
      for (const [user, count] of this.#held) this.#redis.agUserWrite(this.#prefix + user, this.#field, count, RECORD_TTL_MS).catch(ignore);
    });
    client.on('close', () => {
      this.#ready = false;
    });
    client.on('error', (err: Error) => {
      if (this.#ready) logger.warn({ err: err.message }, 'redis (user connection counts) lost its connection; retrying');
      this.#ready = false;
    });
    this.#timers = [
      setInterval(() => this.#ready && this.#claim(), Math.floor(this.#leaseMs / 3)).unref(),
      setInterval(() => this.#touch(), TOUCH_MS).unref(),
    ];
  }

  /**
   * Counts one more connection of `userId`, then runs `complete` (the transport's last checks and the upgrade; false:
   * it refused after all) or `refuse`. Call where the upgrade would complete: inside uWS's handler or a cork.
   */
  admit(res: uWS.HttpResponse, userId: string, data: SocketData, complete: () => boolean, refuse: (denial: UpgradeDenial) => void): void {
    if (!this.#ready) return this.#unchecked(complete, refuse);
    let aborted = false;
    let settled = false;
    this.#waiting.add(res);
    // Replaces the verifier's handler: its part is over.
    res.onAborted(() => {
      aborted = true;
      this.#waiting.delete(res);
    });
    const settle = (total: number | undefined) => {
      const counted = total !== undefined && total >= 0;
      if (settled) {
        // Redis took the place after the deadline had answered the upgrade: give it back.
        if (counted) this.#decrement(userId);
        return;
      }
      settled = true;
      clearTimeout(timer);
      this.#waiting.delete(res);
      if (counted) this.#held.set(userId, (this.#held.get(userId) ?? 0) + 1);
      if (aborted) return counted ? this.#release(userId) : undefined;
      completeLater(res, () => this.#decide(total, userId, data, complete, refuse), this.#otherSocket(res));
    };
    const timer = setTimeout(() => settle(undefined), this.#timeoutMs);
    this.#redis.agUserAdmit(this.#prefix + userId, this.#field, this.#limit, this.#livePrefix, RECORD_TTL_MS).then(
      (total) => settle(Number(total)),
      () => settle(undefined),
    );
  }

  /** A session ended: the place its upgrade took is given back. */
  released(session: Session): void {
    const user = session.ws.getUserData().countedUser;
    if (user !== undefined) this.#release(user);
  }

  /** Drops this worker's lease, so every place it held stops counting at once; waits at most a second. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    if (this.#ready) {
      let timeout: NodeJS.Timeout | undefined;
      const leave = this.#redis.agUserLeave(this.#slotKey, this.#livePrefix + this.#field, this.#field).catch(ignore);
      await Promise.race([leave, new Promise((resolve) => (timeout = setTimeout(resolve, LEAVE_TIMEOUT_MS)))]);
      clearTimeout(timeout);
    }
    this.destroy();
  }

  /** Drops the connection now; the lease then lapses within `limits.userConnectionsLeaseMs`. */
  destroy(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#ready = false;
    this.#redis.disconnect();
  }

  #decide(total: number | undefined, userId: string, data: SocketData, complete: () => boolean, refuse: (denial: UpgradeDenial) => void): void {
    if (total === undefined) return this.#unchecked(complete, refuse);
    if (total < 0) return refuse({ refusal: 'user_connections', reason: `this user holds limits.maxConnectionsPerUser (${this.#limit}) connections` });
    data.countedUser = userId;
    if (complete()) return;
    data.countedUser = undefined;
    this.#release(userId);
  }

  /** Redis could not count: the configured policy. */
  #unchecked(complete: () => boolean, refuse: (denial: UpgradeDenial) => void): void {
    this.#counters[LimitSlot.USER_CHECK_FAILURES]++;
    if (this.#failOpen) complete();
    else refuse({ refusal: 'user_limit_unavailable', reason: 'the user connection count is unavailable (Redis down or slow)' });
  }

  #release(userId: string): void {
    const count = this.#held.get(userId);
    if (count === undefined) return;
    if (count > 1) this.#held.set(userId, count - 1);
    else this.#held.delete(userId);
    this.#decrement(userId);
  }

  /** A decrement; lost while Redis is away, it is repaired by the counts written again at the next connection. */
  #decrement(userId: string): void {
    if (this.#ready) this.#redis.agUserRelease(this.#prefix + userId, this.#field).catch(ignore);
  }

  #claim(): void {
    this.#redis.agUserClaim(this.#slotKey, this.#livePrefix + this.#field, this.#field, this.#livePrefix, this.#leaseMs).catch(ignore);
  }

  /** Keeps the records of the users this worker counts from expiring (RECORD_TTL_MS), in one pipeline. */
  #touch(): void {
    if (!this.#ready || this.#held.size === 0) return;
    const pipeline = this.#redis.pipeline();
    for (const user of this.#held.keys()) pipeline.pexpire(this.#prefix + user, RECORD_TTL_MS);
    pipeline.exec().catch(ignore);
  }

  /** Any socket but the one being upgraded: a session's, else another waiting handshake's. */
  #otherSocket(res: uWS.HttpResponse): Corkable | undefined {
    const session = this.#anySession();
    if (session !== undefined) return session;
    for (const other of this.#waiting) if (other !== res) return other;
    return undefined;
  }
}

const ignore = (): void => {};
