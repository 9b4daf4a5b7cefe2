/**
 * The receiving side of the push-scale scenario: thousands of idle WebSocket sessions in one process (its own, so its
 * CPU and its open files are apart from the gateway's), each subscribed to one topic. Session k of this process is
 * session `offset + k × stride` of the whole scenario and subscribes to `bench.scale.<that mod topics>`, so the
 * topics stay evenly filled however many processes share the sessions and however many steps open them.
 *
 * Every push carries its send time on CLOCK_MONOTONIC (bench/push/payload.ts); a delivery's latency is its arrival
 * (monoMs() when the chunk holding it was read) minus that, recorded per run in a log-linear histogram.
 *
 *   node --import tsx bench/suite/loadgen-push-process.ts --port P --topics 100 [--offset 0 --stride 1]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Control, encodeTopicControl } from '../../src/protocol/control.ts';
import { SUBPROTOCOL } from '../../src/testkit/protocol-client.ts';
import { withDeadline } from '../../src/testkit/wait.ts';
import { intFlag, parseFlags } from '../lib/args.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';
import { LogHistogram, type HistogramJSON } from '../lib/histogram.ts';
import { RawWsClient } from '../lib/raw-ws-client.ts';
import { onReceiverControl, type ReceiverSession } from '../lib/receiver-session.ts';
import { runOf, sentMsOf } from '../push/payload.ts';
import { topicName } from './push-scale-model.ts';

export interface PushLoadgenReady {
  pid: number;
}

export type PushLoadgenRequest =
  | { type: 'open'; count: number }
  | { type: 'close' }
  | { type: 'report'; runs: number[] }
  | { type: 'status' }
  | { type: 'loop-delay'; reset: boolean };

/** This process's event-loop delay since the last reset, µs: how late it could have read (and timed) a delivery. */
export interface LoopDelayAnswer {
  p99: number;
  max: number;
}

export interface OpenAnswer {
  opened: number;
  failed: number;
  firstError?: string;
  /** Sessions open in this process after the request. */
  open: number;
  /** Sessions per gateway worker (from WELCOME), all open sessions. */
  perWorker: number[];
}

export interface PushRunReport {
  /** Deliveries of the runs asked for. */
  count: number;
  /** Push-to-delivery latency, µs. */
  latency: HistogramJSON;
  /** Fewest and most deliveries of the run to one session (every session should get the same). */
  perSessionMin: number;
  perSessionMax: number;
  sessions: number;
}

export interface PushLoadgenStatus {
  open: number;
  /** Sessions closed by the other side since they subscribed. */
  lost: number;
  /** Frames that were neither binary nor control, and data frames too short to hold a stamp. */
  unexpectedFrames: number;
  controlErrors: string[];
}

const FRAME_HEADER = 8;
const STAMP_BYTES = 16;
const CONNECT_CONCURRENCY = 64;
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

const values = parseFlags(process.argv.slice(2), {
  port: { type: 'string' },
  host: { type: 'string', default: '127.0.0.1' },
  topics: { type: 'string' },
  offset: { type: 'string' },
  stride: { type: 'string' },
});
const port = intFlag(values, 'port', 1, 65_535);
const topics = intFlag(values, 'topics', 1, 100_000, 100);
const offset = intFlag(values, 'offset', 0, 1_000_000, 0);
const stride = intFlag(values, 'stride', 1, 1_000, 1);

class RunStats {
  readonly latency = new LogHistogram();
  perSession = new Uint32Array(1024);
  count = 0;

  add(session: number, latencyUs: number): void {
    if (session >= this.perSession.length) {
      const grown = new Uint32Array(Math.max(session + 1, 2 * this.perSession.length));
      grown.set(this.perSession);
      this.perSession = grown;
    }
    this.perSession[session]!++;
    this.latency.record(latencyUs);
    this.count++;
  }
}

interface Session extends ReceiverSession {
  /** Subscribed and not closed since. */
  live: boolean;
}

let sessions: Session[] = [];
const runs: (RunStats | undefined)[] = [];
const controlErrors: string[] = [];
let shortFrames = 0;
/** Sessions the gateway (or the network) closed while this process was not closing them. */
let lost = 0;
let closing = false;

/** The hot path: one call per delivered frame. */
function onFrame(session: number, chunk: Buffer, start: number, length: number, arrivedMs: number): void {
  const serverId = chunk.readUInt32LE(start + 4);
  if ((serverId & 0xff00) === 0) return onControl(session, chunk.readUInt16LE(start + 2), chunk.subarray(start + FRAME_HEADER, start + length));
  if (length < FRAME_HEADER + STAMP_BYTES) {
    shortFrames++;
    return;
  }
  const at = start + FRAME_HEADER;
  const run = runOf(chunk, at);
  (runs[run] ??= new RunStats()).add(session, (arrivedMs - sentMsOf(chunk, at)) * 1000);
}

function onControl(index: number, msgId: number, body: Buffer): void {
  onReceiverControl(sessions[index], index, msgId, body, controlErrors);
}

async function openSession(index: number): Promise<void> {
  let welcomed!: () => void;
  let subscribed!: (code: number) => void;
  const welcome = new Promise<void>((resolve) => (welcomed = resolve));
  const subscription = new Promise<number>((resolve) => (subscribed = resolve));
  const session: Session = { client: undefined, live: false, worker: -1, welcomed, subscribed };
  sessions[index] = session;
  const topic = topicName((offset + index * stride) % topics);
  try {
    session.client = await RawWsClient.connect({ host: values.host!, port, protocol: SUBPROTOCOL }, (chunk, start, length, arrivedMs) =>
      onFrame(index, chunk, start, length, arrivedMs),
    );
    await withDeadline(welcome, 10_000, `session ${index}: WELCOME`);
    session.client.send(encodeTopicControl(Control.SUBSCRIBE, topic));
    const code = await withDeadline(subscription, 10_000, `session ${index}: SUBSCRIBE_RESULT`);
    if (code !== 0) throw new Error(`session ${index}: subscribe to ${topic} refused with code ${code}`);
    session.live = true;
    void session.client.closed.then(() => {
      session.live = false;
      if (!closing) lost++;
    });
  } catch (err) {
    void session.client?.close();
    session.client = undefined;
    throw err;
  }
}

async function open(count: number): Promise<OpenAnswer> {
  const first = sessions.length;
  const end = first + count;
  let next = first;
  let opened = 0;
  let failed = 0;
  let firstError: string | undefined;
  const lane = async () => {
    while (next < end) {
      const index = next++;
      try {
        await openSession(index);
        opened++;
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, lane));
  const perWorker: number[] = [];
  for (const s of sessions) if (s.live && s.worker >= 0) perWorker[s.worker] = (perWorker[s.worker] ?? 0) + 1;
  return { opened, failed, firstError, open: openCount(), perWorker: Array.from(perWorker, (n) => n ?? 0) };
}

const openCount = () => sessions.reduce((n, s) => n + (s.live ? 1 : 0), 0);

function report(asked: readonly number[]): PushRunReport {
  const stats = asked.map((run) => runs[run] ?? new RunStats());
  const latency = new LogHistogram();
  for (const s of stats) latency.merge(s.latency);
  let min = Infinity;
  let max = 0;
  let live = 0;
  sessions.forEach((s, i) => {
    if (!s.live) return;
    live++;
    const n = stats.reduce((t, s) => t + (s.perSession[i] ?? 0), 0);
    if (n < min) min = n;
    if (n > max) max = n;
  });
  return { count: stats.reduce((t, s) => t + s.count, 0), latency: latency.toJSON(), perSessionMin: live === 0 ? 0 : min, perSessionMax: max, sessions: live };
}

async function closeAll(): Promise<object> {
  closing = true;
  await Promise.all(sessions.map((s) => s.client?.close()));
  sessions = [];
  closing = false;
  return {};
}

serveParent(
  (request) => {
    const r = request as unknown as PushLoadgenRequest;
    switch (r.type) {
      case 'open':
        return open(r.count);
      case 'close':
        return closeAll();
      case 'report':
        return report(r.runs);
      case 'loop-delay': {
        const answer = { p99: loopDelay.percentile(99) / 1000, max: loopDelay.max / 1000 } satisfies LoopDelayAnswer;
        if (r.reset) loopDelay.reset();
        return answer;
      }
      case 'status': {
        const unexpected = sessions.reduce((n, s) => n + (s.client?.unexpected ?? 0), 0) + shortFrames;
        return { open: openCount(), lost, unexpectedFrames: unexpected, controlErrors } satisfies PushLoadgenStatus;
      }
      default:
        throw new Error(`unknown request ${(r as { type: string }).type}`);
    }
  },
  async () => {
    await closeAll();
  },
);

announceReady({ pid: process.pid } satisfies PushLoadgenReady);
