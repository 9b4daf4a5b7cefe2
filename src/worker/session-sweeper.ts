/**
 * Per-worker housekeeping for client liveness and slow consumers, on one unref'd timer:
 * - a session silent for `pingIntervalMs` (no message, no pong) gets a WebSocket ping; silent for `idleTimeoutMs`,
 *   it is closed with IDLE_TIMEOUT (its backends then get CLOSE like any other end);
 * - a session whose send buffer overflowed (a message was dropped) and has not drained within `slowConsumerGraceMs`
 *   is closed with SLOW_CONSUMER.
 * Sessions' `lastSeen` is stamped from the worker's coarse clock, so no message pays for a clock read.
 */
import type { CoarseClock } from '../core/coarse-clock.ts';
import type { LimitsOptions } from '../core/options.ts';
import { WorkerSlot } from '../core/counters.ts';
import { Code } from '../protocol/codes.ts';
import type { Session } from './session.ts';
import type { SessionShard } from './session-shard.ts';

export class SessionSweeper {
  readonly #clock: CoarseClock;
  readonly #limits: Readonly<LimitsOptions>;
  readonly #shard: SessionShard;
  readonly #counters: Float64Array;
  readonly #slow = new Set<Session>();
  #timer: NodeJS.Timeout | undefined;

  constructor(limits: Readonly<LimitsOptions>, shard: SessionShard, counters: Float64Array, clock: CoarseClock) {
    this.#clock = clock;
    this.#limits = limits;
    this.#shard = shard;
    this.#counters = counters;
  }

  start(): void {
    const { idleTimeoutMs, pingIntervalMs, slowConsumerGraceMs } = this.#limits;
    const shortest = Math.min(...[idleTimeoutMs, pingIntervalMs, slowConsumerGraceMs].filter((ms) => ms > 0), 4000);
    this.#timer = setInterval(() => this.tick(performance.now()), Math.max(25, Math.min(1000, shortest / 4))).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** A message to this session was dropped: its buffer is full. Starts its grace period. */
  overflowed(session: Session): void {
    if (session.slowSince !== 0) return;
    session.slowSince = this.#clock.now;
    this.#slow.add(session);
    this.#counters[WorkerSlot.SLOW_SESSIONS] = this.#slow.size;
  }

  /** uWS drained some of the session's buffer; below half the limit it is no longer slow. */
  drained(session: Session): void {
    if (session.slowSince === 0 || session.ws.getBufferedAmount() > this.#limits.clientSendBufferBytes / 2) return;
    this.forget(session);
  }

  forget(session: Session): void {
    if (session.slowSince === 0) return;
    session.slowSince = 0;
    this.#slow.delete(session);
    this.#counters[WorkerSlot.SLOW_SESSIONS] = this.#slow.size;
  }

  tick(now: number): void {
    const { idleTimeoutMs, pingIntervalMs, slowConsumerGraceMs } = this.#limits;
    for (const session of this.#slow) {
      if (now - session.slowSince < slowConsumerGraceMs) continue;
      this.forget(session);
      this.#counters[WorkerSlot.SLOW_CONSUMER_CLOSES]++;
      session.ws.end(Code.SLOW_CONSUMER, 'slow consumer');
    }
    if (idleTimeoutMs === 0 && pingIntervalMs === 0) return;
    for (const session of this.#shard.values()) {
      const silent = now - session.lastSeen;
      if (idleTimeoutMs !== 0 && silent >= idleTimeoutMs) {
        this.#counters[WorkerSlot.IDLE_CLOSES]++;
        session.ws.end(Code.IDLE_TIMEOUT, 'idle timeout');
      } else if (pingIntervalMs !== 0 && silent >= pingIntervalMs && session.pingSentAt <= session.lastSeen) {
        // Stamped from the clock that stamps the pong (lastSeen): a pong read before the coarse clock's next tick
        // carries an earlier time than performance.now() gave here, and would never count as the answer.
        session.pingSentAt = this.#clock.now;
        session.ws.ping();
      }
    }
  }
}
