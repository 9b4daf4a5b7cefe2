/**
 * One load-generator thread: holds its share of the connections and drives them, closed loop (a fixed window of
 * messages in flight per connection) or open loop (messages due at fixed times, each stamped with its due time, so
 * a stall anywhere shows as latency instead of as fewer sends: no coordinated omission). Talks to loadgen-process.ts
 * over parentPort; nothing here allocates per message.
 */
import { readlinkSync, writeFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { LogHistogram, type HistogramJSON } from '../lib/histogram.ts';
import { LoadConnection, type Receiver } from './load-connection.ts';

export interface GroupSpec {
  serverId: number;
  count: number;
  /** Load threads that hold this group's connections (loadgen-process.ts spreads them over these only); all by default. */
  threads?: readonly number[];
}

/** How one group of connections is driven in a run. */
export type GroupLoad =
  | { mode: 'closed'; window: number }
  /** `rate`: messages per second from this thread for the whole group. */
  | { mode: 'open'; rate: number }
  | { mode: 'idle' };

export interface RunSpec {
  payloadBytes: number;
  warmupMs: number;
  measureMs: number;
  /** After the last send: how long to wait for what is still in flight. */
  drainMs: number;
  groups: GroupLoad[];
}

export interface GroupResult {
  /** Sends due (open loop) or made (closed loop) in the measured window. */
  sent: number;
  /** Echoes that arrived in the measured window (the throughput figure). */
  echoedInWindow: number;
  /** Echoes of messages sent in the measured window, arriving whenever (latency is theirs). */
  echoed: number;
  /** ERROR control frames by code, measured window. */
  errors: Record<string, number>;
  /** Echoes that came back with a lower sequence number than one already seen on the connection. */
  outOfOrder: number;
  /**
   * Sends due in the measured window but skipped because this client's own socket was backed up (the client fell
   * behind); not in the latency histogram, so a run with any is flagged in the report.
   */
  clientBehind: number;
  /** Messages neither echoed nor refused when the drain period ended. */
  unanswered: number;
  /** Round trip, µs, of messages sent in the measured window (open loop: from the due time). */
  latency: HistogramJSON;
  /** Open loop: how late the client sent, µs after the due time (the client's own share of the latency). */
  sendLateness: HistogramJSON;
}

export type ThreadRequest =
  | { type: 'connect'; id: number; host: string; port: number; protocol?: string; groups: GroupSpec[]; concurrency: number }
  | { type: 'run'; id: number; spec: RunSpec }
  | { type: 'disconnect'; id: number };

export type ThreadReply =
  | { type: 'connected'; id: number; opened: number[]; failed: number; firstError?: string }
  /**
   * Open loop: `pollInterval`, µs between the thread's polls of its sockets (bounds how late a reply is read);
   * `stalledUs`, the measured window's time in gaps of STALL_US or more between polls (the thread was not running).
   */
  | {
      type: 'ran';
      id: number;
      groups: GroupResult[];
      pollInterval: HistogramJSON;
      stalledUs: number;
      /** Native generator only: whether the thread ran the load as SCHED_FIFO (`fifo`) or not. */
      scheduling?: 'fifo' | 'normal';
    }
  | { type: 'disconnected'; id: number }
  | { type: 'failed'; id: number; error: string };

interface GroupState {
  load: GroupLoad;
  conns: LoadConnection[];
  sent: number;
  echoed: number;
  echoedInWindow: number;
  errors: Map<number, number>;
  outOfOrder: number;
  clientBehind: number;
  latency: LogHistogram;
  sendLateness: LogHistogram;
  nextDueUs: number;
  intervalUs: number;
  rr: number;
}

const port = parentPort;
if (port === null) throw new Error('loadgen-thread.ts runs as a worker thread');

let groups: LoadConnection[][] = [];
let state: GroupState[] = [];
let windowFromUs = Infinity;
let windowToUs = -Infinity;
let sendUntilUs = -Infinity;
let msgId = 0;

/*
 * Open-loop pacing. A send goes out at its due time, never from a timer (a 1 ms timer made this client ~2 ms late at
 * p99). A reply is timed when it is read, so the thread also polls its sockets (one event-loop turn through
 * setImmediate: libuv polls without blocking) between sends, and at the latest MAX_UNREAD_US after its last poll.
 * On this project's 2-core machines a thread that spins through every gap takes a core from the gateway it
 * measures (which then answers later), so it spins only through gaps too short to sleep in: a longer one is slept
 * (Atomics.wait, which has sub-millisecond resolution where a timer has not) up to WAKE_US before the due time.
 */
/** Below this, a gap is spun through: an idle turn costs ~3 µs here, one that reads a few replies 10–30. */
const YIELD_MIN_US = 15;
const MAX_UNREAD_US = 200;
/** Atomics.wait wakes ~25–30 µs past its timeout here with 1 µs timer slack (~85 µs with Linux's default 50 µs). */
const WAKE_US = 25;
const NAP_MIN_US = 10;
/** The longest sleep: a reply that arrives meanwhile is read at most this (plus the overshoot) late. */
const NAP_MAX_US = 100;
const napCell = new Int32Array(new SharedArrayBuffer(4));
/** A gap between polls this long was not the pacer's (it never sleeps past NAP_MAX_US): the thread was off its core. */
const STALL_US = 1000;
let stalledUs = 0;

// Timer slack delays every timed wake-up of the thread by up to 50 µs by default; the pacer sleeps with 1 µs. Linux
// lets a process set its own threads' (/proc/<tid>/timerslack_ns); elsewhere the default stays, and sends are later.
try {
  writeFileSync(`/proc/${readlinkSync('/proc/thread-self').split('/').pop()}/timerslack_ns`, '1000');
} catch {
  // not Linux, or not permitted
}
let pacing = false;
let lastPollUs = 0;
let pollInterval = new LogHistogram();
/** Due times of one group's sends in one call of sendDue, for their lateness once the batch is written. */
let dues = new Float64Array(256);

const receiver: Receiver = {
  onEcho(conn, stampUs, seq, nowUs) {
    const g = state[conn.group];
    if (g === undefined) return;
    if (seq <= conn.lastSeq) g.outOfOrder++;
    else conn.lastSeq = seq;
    if (nowUs >= windowFromUs && nowUs < windowToUs) g.echoedInWindow++;
    if (stampUs >= windowFromUs && stampUs < windowToUs) {
      g.echoed++;
      g.latency.record(nowUs - stampUs);
    }
    if (g.load.mode === 'closed' && nowUs < sendUntilUs) sendClosed(g, conn, nowUs);
  },
  onError(conn, code, nowUs) {
    const g = state[conn.group];
    if (g === undefined) return;
    if (nowUs >= windowFromUs && nowUs < windowToUs) g.errors.set(code, (g.errors.get(code) ?? 0) + 1);
    if (g.load.mode === 'closed' && nowUs < sendUntilUs) sendClosed(g, conn, nowUs);
  },
  afterRead() {
    // A turn that reads many replies must not hold back what came due meanwhile.
    if (pacing) sendDue(performance.now() * 1000);
  },
};

/**
 * Open loop: every send due by `nowUs`, each stamped with its due time. Lateness is taken when the bytes were handed
 * to the socket, after the uncork when several sends share a turn.
 */
function sendDue(nowUs: number): void {
  const until = Math.min(nowUs, sendUntilUs);
  for (const g of state) {
    if (g.load.mode !== 'open' || g.conns.length === 0 || g.nextDueUs > until) continue;
    const n = g.conns.length;
    const touched = Math.min(n, Math.floor((until - g.nextDueUs) / g.intervalUs) + 1);
    const first = g.rr;
    // Sends that came due together leave as one write per connection, not one per message.
    if (touched > 1) for (let i = 0; i < touched; i++) g.conns[(first + i) % n]!.cork();
    let recorded = 0;
    while (g.nextDueUs <= until) {
      const due = g.nextDueUs;
      g.nextDueUs += g.intervalUs;
      const conn = g.conns[g.rr++ % n]!;
      const inWindow = due >= windowFromUs && due < windowToUs;
      if (conn.send(due, msgId++)) {
        if (inWindow) {
          g.sent++;
          if (recorded === dues.length) dues = grownDues(recorded + 1);
          dues[recorded++] = due;
        }
      } else if (inWindow) g.clientBehind++;
    }
    if (touched > 1) for (let i = 0; i < touched; i++) g.conns[(first + i) % n]!.uncork();
    const sentUs = performance.now() * 1000;
    for (let i = 0; i < recorded; i++) g.sendLateness.record(sentUs - dues[i]!);
  }
}

function nextDueUs(): number {
  let next = Infinity;
  for (const g of state) if (g.load.mode === 'open' && g.conns.length > 0 && g.nextDueUs < next) next = g.nextDueUs;
  return next;
}

function grownDues(least: number): Float64Array<ArrayBuffer> {
  const next = new Float64Array(Math.max(least, 2 * dues.length));
  next.set(dues);
  return next;
}

function sendClosed(g: GroupState, conn: LoadConnection, nowUs: number): void {
  const inWindow = nowUs >= windowFromUs && nowUs < windowToUs;
  if (conn.send(nowUs, msgId++)) {
    if (inWindow) g.sent++;
  } else if (inWindow) g.clientBehind++;
}

async function connectAll(request: Extract<ThreadRequest, { type: 'connect' }>): Promise<ThreadReply> {
  const opened: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  // Additive: a second connect adds connections to the groups (the memory scenario grows in steps).
  for (let gi = 0; gi < request.groups.length; gi++) {
    const spec = request.groups[gi]!;
    const conns: LoadConnection[] = (groups[gi] ??= []);
    const before = conns.length;
    let next = 0;
    const lane = async () => {
      while (next < spec.count) {
        next++;
        try {
          conns.push(await LoadConnection.open({ host: request.host, port: request.port, serverId: spec.serverId, protocol: request.protocol }, gi, receiver));
        } catch (err) {
          failed++;
          firstError ??= (err as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, request.concurrency) }, lane));
    opened.push(conns.length - before);
  }
  return { type: 'connected', id: request.id, opened, failed, firstError };
}

function run(request: Extract<ThreadRequest, { type: 'run' }>): Promise<ThreadReply> {
  const { spec } = request;
  const startUs = performance.now() * 1000;
  windowFromUs = startUs + spec.warmupMs * 1000;
  windowToUs = windowFromUs + spec.measureMs * 1000;
  sendUntilUs = windowToUs;
  state = groups.map((conns, gi) => {
    const load = spec.groups[gi] ?? { mode: 'idle' };
    const slots = load.mode === 'closed' ? Math.max(8, load.window * 2) : 64;
    for (const conn of conns) {
      conn.prepare(spec.payloadBytes, slots);
      conn.inFlight = 0;
      conn.lastSeq = conn.nextSeq - 1;
      conn.runFirstSeq = conn.nextSeq;
    }
    return {
      load,
      conns,
      sent: 0,
      echoed: 0,
      echoedInWindow: 0,
      errors: new Map(),
      outOfOrder: 0,
      clientBehind: 0,
      latency: new LogHistogram(),
      sendLateness: new LogHistogram(),
      nextDueUs: startUs,
      intervalUs: load.mode === 'open' && load.rate > 0 ? 1e6 / load.rate : Infinity,
      rr: 0,
    };
  });
  for (const g of state) {
    if (g.load.mode !== 'closed') continue;
    for (const conn of g.conns) for (let i = 0; i < g.load.window; i++) sendClosed(g, conn, startUs);
  }
  const hasOpen = state.some((g) => g.load.mode === 'open' && g.conns.length > 0);
  return new Promise((resolve) => {
    // A closed loop needs no clock of its own: echoes drive it, and a timer only notices the end.
    const tick = () => {
      const nowUs = performance.now() * 1000;
      if (nowUs < sendUntilUs) setTimeout(tick, Math.min(50, (sendUntilUs - nowUs) / 1000));
      else drain(nowUs);
    };
    const pace = () => {
      const enteredUs = performance.now() * 1000;
      if (enteredUs >= windowFromUs && enteredUs < windowToUs) {
        pollInterval.record(enteredUs - lastPollUs);
        if (enteredUs - lastPollUs >= STALL_US) stalledUs += enteredUs - lastPollUs;
      }
      lastPollUs = enteredUs;
      for (;;) {
        let nowUs = performance.now() * 1000;
        if (nowUs >= sendUntilUs) {
          pacing = false;
          return drain(nowUs);
        }
        sendDue(nowUs);
        nowUs = performance.now() * 1000;
        const nextUs = Math.min(nextDueUs(), sendUntilUs);
        const gap = nextUs - nowUs;
        if (gap - WAKE_US >= NAP_MIN_US) {
          Atomics.wait(napCell, 0, 0, Math.min(gap - WAKE_US, NAP_MAX_US) / 1000);
          setImmediate(pace);
          return;
        }
        if (gap >= YIELD_MIN_US || nowUs - enteredUs >= MAX_UNREAD_US) {
          setImmediate(pace);
          return;
        }
        while (performance.now() * 1000 < nextUs);
      }
    };
    const drainUntilMs = () => sendUntilUs / 1000 + spec.drainMs;
    const drain = (_nowUs: number) => {
      const pending = state.reduce((n, g) => n + g.conns.reduce((m, c) => m + (c.closed ? 0 : Math.max(0, c.inFlight)), 0), 0);
      if (pending > 0 && performance.now() < drainUntilMs()) {
        setTimeout(() => drain(performance.now() * 1000), 5);
        return;
      }
      resolve({
        type: 'ran',
        id: request.id,
        groups: state.map((g) => ({
          sent: g.sent,
          echoed: g.echoed,
          echoedInWindow: g.echoedInWindow,
          errors: Object.fromEntries([...g.errors].map(([code, n]) => [String(code), n])),
          outOfOrder: g.outOfOrder,
          clientBehind: g.clientBehind,
          unanswered: g.conns.reduce((m, c) => m + Math.max(0, c.inFlight), 0),
          latency: g.latency.toJSON(),
          sendLateness: g.sendLateness.toJSON(),
        })),
        pollInterval: pollInterval.toJSON(),
        stalledUs,
      });
      state = [];
    };
    pollInterval = new LogHistogram();
    stalledUs = 0;
    lastPollUs = startUs;
    pacing = hasOpen;
    if (hasOpen) pace();
    else tick();
  });
}

async function disconnectAll(id: number): Promise<ThreadReply> {
  await Promise.all(groups.flat().map((c) => c.close()));
  groups = [];
  return { type: 'disconnected', id };
}

port.on('message', (request: ThreadRequest) => {
  const answer =
    request.type === 'connect' ? connectAll(request) : request.type === 'run' ? run(request) : disconnectAll(request.id);
  answer.then(
    (reply) => port.postMessage(reply),
    (err: Error) => port.postMessage({ type: 'failed', id: request.id, error: err.stack ?? err.message } satisfies ThreadReply),
  );
});
