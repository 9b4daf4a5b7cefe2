/**
 * The receiving side: N WebSocket sessions, each subscribed to the benchmark topic, in one process of their own (so
 * their CPU is measured apart from the gateway's and the publisher's). For every push they record the delivery
 * latency (arrival minus the stamp in the payload) and count it, per run; the driver asks for the counts and
 * histograms over IPC.
 *
 *   node --import tsx bench/push/receivers-process.ts --port P [--sessions 100]
 */
import { Control, encodeTopicControl } from '../../src/protocol/control.ts';
import { SUBPROTOCOL } from '../../src/testkit/protocol-client.ts';
import { withDeadline } from '../../src/testkit/wait.ts';
import { intFlag, parseFlags } from '../lib/args.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';
import { LogHistogram, type HistogramJSON } from '../lib/histogram.ts';
import { RawWsClient } from '../lib/raw-ws-client.ts';
import { onReceiverControl, type ReceiverSession } from '../lib/receiver-session.ts';
import { runOf, sentMsOf, TOPIC } from './payload.ts';

export interface ReceiversReady {
  pid: number;
  sessions: number;
  /** Sessions per gateway worker (from WELCOME). */
  perWorker: number[];
}

/** Requests the driver may send. */
export type ReceiversRequest = { type: 'count'; run: number } | { type: 'total' } | { type: 'report'; run: number } | { type: 'status' };

/** `count`: deliveries of one run; `total`: deliveries of every run so far. */
export interface CountAnswer {
  count: number;
}

export interface RunReport {
  count: number;
  /** Delivery latency, µs. */
  latency: HistogramJSON;
  /** monoMs() of the first and last delivery. */
  firstMs: number;
  lastMs: number;
  perSessionMin: number;
  perSessionMax: number;
}

export interface StatusAnswer {
  open: number;
  unexpectedFrames: number;
  controlErrors: string[];
}

const FRAME_HEADER = 8;

const values = parseFlags(process.argv.slice(2), { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, sessions: { type: 'string' } });
/** The gateway's client port. */
const port = intFlag(values, 'port', 1, 65_535);
const sessionCount = intFlag(values, 'sessions', 1, 10_000, 100);

class RunStats {
  readonly latency = new LogHistogram();
  readonly perSession = new Uint32Array(sessionCount);
  count = 0;
  firstMs = Infinity;
  lastMs = 0;
}

const runs: (RunStats | undefined)[] = [];
const controlErrors: string[] = [];
let received = 0;

/** The hot path: one call per delivered frame. */
function onFrame(session: number, chunk: Buffer, start: number, length: number, arrivedMs: number): void {
  const serverId = chunk.readUInt32LE(start + 4);
  if ((serverId & 0xff00) === 0) return onControl(session, chunk.readUInt16LE(start + 2), chunk.subarray(start + FRAME_HEADER, start + length));
  received++;
  const at = start + FRAME_HEADER;
  const run = runOf(chunk, at);
  let stats = runs[run];
  if (stats === undefined) stats = runs[run] = new RunStats();
  stats.latency.record((arrivedMs - sentMsOf(chunk, at)) * 1000);
  stats.count++;
  stats.perSession[session]!++;
  if (arrivedMs < stats.firstMs) stats.firstMs = arrivedMs;
  if (arrivedMs > stats.lastMs) stats.lastMs = arrivedMs;
}

interface Session extends ReceiverSession {
}

const sessions: Session[] = [];

function onControl(index: number, msgId: number, body: Buffer): void {
  onReceiverControl(sessions[index], index, msgId, body, controlErrors);
}

async function openSession(index: number): Promise<void> {
  let welcomed!: () => void;
  let subscribed!: (code: number) => void;
  const welcome = new Promise<void>((resolve) => (welcomed = resolve));
  const subscription = new Promise<number>((resolve) => (subscribed = resolve));
  const session: Session = { client: undefined, worker: -1, welcomed, subscribed };
  sessions[index] = session;
  session.client = await RawWsClient.connect({ host: values.host!, port, protocol: SUBPROTOCOL }, (chunk, start, length, arrivedMs) =>
    onFrame(index, chunk, start, length, arrivedMs),
  );
  await withDeadline(welcome, 5000, `session ${index}: WELCOME`);
  session.client.send(encodeTopicControl(Control.SUBSCRIBE, TOPIC));
  const code = await withDeadline(subscription, 5000, `session ${index}: SUBSCRIBE_RESULT`);
  if (code !== 0) throw new Error(`session ${index}: subscribe to ${TOPIC} refused with code ${code}`);
}

let open = 0;

serveParent(
  (request) => {
    const r = request as unknown as ReceiversRequest;
    switch (r.type) {
      case 'count':
        return { count: runs[r.run]?.count ?? 0 } satisfies CountAnswer;
      case 'total':
        return { count: received } satisfies CountAnswer;
      case 'report': {
        const stats = runs[r.run] ?? new RunStats();
        let min = Infinity;
        let max = 0;
        for (const n of stats.perSession) {
          if (n < min) min = n;
          if (n > max) max = n;
        }
        return { count: stats.count, latency: stats.latency.toJSON(), firstMs: stats.firstMs, lastMs: stats.lastMs, perSessionMin: min, perSessionMax: max } satisfies RunReport;
      }
      case 'status':
        return { open, unexpectedFrames: sessions.reduce((n, s) => n + (s.client?.unexpected ?? 0), 0), controlErrors } satisfies StatusAnswer;
    }
  },
  async () => {
    await Promise.all(sessions.map((s) => s.client?.close()));
  },
);

const CONNECT_CONCURRENCY = 10;
for (let from = 0; from < sessionCount; from += CONNECT_CONCURRENCY) {
  const batch = [];
  for (let i = from; i < Math.min(sessionCount, from + CONNECT_CONCURRENCY); i++) batch.push(openSession(i));
  await Promise.all(batch);
}
for (const session of sessions) {
  open++;
  void session.client!.closed.then(() => open--);
}
const perWorker: number[] = [];
for (const session of sessions) perWorker[session.worker] = (perWorker[session.worker] ?? 0) + 1;
announceReady({ pid: process.pid, sessions: sessionCount, perWorker: Array.from(perWorker, (n) => n ?? 0) } satisfies ReceiversReady);
