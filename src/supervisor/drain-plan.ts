/**
 * The supervisor's drain, paced (`shutdown.drainWindowMs`, `preDrainDelayMs`, `drainTimeoutMs`): its timeline, its
 * state and its progress (what `GET /admin/drain`, the metrics and a dashboard read).
 *
 *   none ──drain()──▶ pre-drain ──preDrainDelayMs──▶ draining ──close()──▶ closing ──workers closed──▶ closed
 *
 * From drain() the gateway is not ready (/ready 503) but still accepts connections; at the end of the pre-drain
 * delay every worker sends DRAIN and stops accepting (drain-schedule.ts spreads the reconnects over the window); the
 * drain is over once no session is left or at the deadline, drain() + drainTimeoutMs, which caps the whole of it.
 */

export type DrainState = 'none' | 'pre-drain' | 'draining' | 'closing' | 'closed';

/**
 * A drain's progress, as `Supervisor.drainProgress()` and `GET /admin/drain` give it. Times are epoch ms. A type
 * rather than an interface so that it is a plain JSON record to readers that take one.
 */
export type DrainProgress = {
  state: DrainState;
  /** When drain() was called; null before. */
  startedAt: number | null;
  preDrainDelayMs: number;
  /** When the DRAINs go (or went) out: startedAt + preDrainDelayMs. */
  drainAt: number | null;
  /** The window in force: the one asked for, cut to what the timeout leaves after the pre-drain delay. */
  windowMs: number;
  /** The hard cap: startedAt + drainTimeoutMs. */
  deadlineAt: number | null;
  /** Sessions when the DRAINs went out (during the pre-drain delay: open now). */
  sessionsAtStart: number;
  /** Sessions still open. */
  sessionsRemaining: number;
  /** Sessions the gateway closed with DRAINED (at their time in the window, or at the deadline). */
  closedByGateway: number;
  /** The reconnect times the DRAINs name, first to last (a drain not paced names one time); null before. */
  reconnectDue: { from: number; to: number } | null;
};

/** What a drain is asked to do, its defaults from `shutdown` already applied. */
export interface DrainRequest {
  windowMs: number;
  preDrainDelayMs: number;
  timeoutMs: number;
  /** With windowMs 0 only: the one reconnectAfterMs every DRAIN names. */
  reconnectAfterMs: number;
  url: string;
}

/** What the plan uses of the supervisor. */
export interface DrainTarget {
  sessions(): number;
  /** Sessions closed with DRAINED so far (the workers' counters, since the process started). */
  drainCloses(): number;
  /** Sends DRAIN to every worker (the window starting at `startAt`). */
  sendDrains(startAt: number, windowMs: number): void;
}

/** How often the plan looks whether sessions are left. */
const POLL_MS = 50;

export const NO_DRAIN: Readonly<DrainProgress> = Object.freeze({
  state: 'none',
  startedAt: null,
  preDrainDelayMs: 0,
  drainAt: null,
  windowMs: 0,
  deadlineAt: null,
  sessionsAtStart: 0,
  sessionsRemaining: 0,
  closedByGateway: 0,
  reconnectDue: null,
});

export class DrainPlan {
  readonly request: Readonly<DrainRequest>;
  readonly startedAt: number;
  readonly drainAt: number;
  readonly deadlineAt: number;
  /** Resolves when the drain is over: no session left after the DRAINs, or the deadline. */
  readonly done: Promise<void>;
  #state: DrainState = 'pre-drain';
  #sessionsAtStart = 0;
  readonly #closesBefore: number;
  readonly #target: DrainTarget;
  #timer: NodeJS.Timeout | undefined;

  constructor(request: DrainRequest, target: DrainTarget, now = Date.now()) {
    const timeoutMs = Math.max(0, request.timeoutMs);
    const preDrainDelayMs = Math.min(Math.max(0, request.preDrainDelayMs), timeoutMs);
    const windowMs = Math.min(Math.max(0, request.windowMs), timeoutMs - preDrainDelayMs);
    this.request = Object.freeze({ ...request, timeoutMs, preDrainDelayMs, windowMs });
    this.#target = target;
    this.startedAt = now;
    this.drainAt = now + preDrainDelayMs;
    this.deadlineAt = now + timeoutMs;
    this.#closesBefore = target.drainCloses();
    this.done = new Promise((resolve) => {
      const finish = () => {
        clearTimeout(this.#timer);
        resolve();
      };
      const poll = () => {
        if (this.#state !== 'pre-drain' && this.#state !== 'draining') return finish();
        if (this.#state === 'pre-drain' && Date.now() >= this.drainAt) this.#sendDrains();
        if (this.#state === 'draining' && (target.sessions() === 0 || Date.now() >= this.deadlineAt)) return finish();
        this.#timer = setTimeout(poll, Math.max(0, Math.min(POLL_MS, this.drainAt - Date.now())));
      };
      poll();
    });
  }

  get state(): DrainState {
    return this.#state;
  }

  /** Whether the DRAINs went out (so a worker restarted from now on drains at once). */
  get sent(): boolean {
    return this.#state !== 'pre-drain';
  }

  /** close() began: the drain is cut short if it was still going. */
  closing(): void {
    if (this.#state === 'pre-drain' || this.#state === 'draining') this.#state = 'closing';
  }

  closed(): void {
    this.#state = 'closed';
  }

  progress(): DrainProgress {
    const { windowMs, reconnectAfterMs, preDrainDelayMs } = this.request;
    const sent = this.sent;
    const lastOffset = windowMs === 0 ? reconnectAfterMs : windowMs;
    return {
      state: this.#state,
      startedAt: this.startedAt,
      preDrainDelayMs,
      drainAt: this.drainAt,
      windowMs,
      deadlineAt: this.deadlineAt,
      sessionsAtStart: sent ? this.#sessionsAtStart : this.#target.sessions(),
      sessionsRemaining: this.#target.sessions(),
      closedByGateway: this.#target.drainCloses() - this.#closesBefore,
      reconnectDue: { from: this.drainAt + (windowMs === 0 ? reconnectAfterMs : 0), to: this.drainAt + lastOffset },
    };
  }

  #sendDrains(): void {
    this.#state = 'draining';
    this.#sessionsAtStart = this.#target.sessions();
    this.#target.sendDrains(this.drainAt, this.request.windowMs);
  }
}
