/**
 * The load generator of the drain benchmark, as a client library behaves: `--sessions` sessions on gateway A that,
 * on DRAIN, wait its reconnectAfterMs and then move to gateway B, or move at once when A closes them first; and
 * `--echo` sessions established on B, each sending one frame every `--echo-interval-ms` to B's backend and timing
 * its echo. It counts the reconnects completed at B per 100 ms bucket (CLOCK_MONOTONIC, comparable with the
 * driver's), and the echo round trips between `record` and `report`.
 *
 *   node --import tsx bench/drain/clients-process.ts --a PORT --b PORT [--sessions 5000] [--echo 0]
 */
import { SUBPROTOCOL } from '../../src/testkit/protocol-client.ts';
import { Control } from '../../src/protocol/control.ts';
import { intFlag, parseFlags } from '../lib/args.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';
import { monoMs } from '../lib/clock.ts';
import { LogHistogram, type HistogramJSON } from '../lib/histogram.ts';
import { RawWsClient } from '../lib/raw-ws-client.ts';

export interface ClientsReady {
  pid: number;
  sessions: number;
  echo: number;
}

/** What `report` answers. */
export interface ClientsReport {
  /** monoMs() of every reconnect completed at B (its WELCOME). */
  reconnectedAt: number[];
  /** Reconnect attempts refused or failed (retried after 100 ms), and why (the first words of each error). */
  failedAttempts: number;
  failures: Record<string, number>;
  /** Sessions that got DRAIN before A closed them, and those A closed first. */
  drained: number;
  closedFirst: number;
  /** Echo round trips since `record`, µs. */
  rtt: HistogramJSON;
  echoErrors: number;
}

const values = parseFlags(process.argv.slice(2), {
  a: { type: 'string' },
  b: { type: 'string' },
  sessions: { type: 'string' },
  echo: { type: 'string' },
  'echo-interval-ms': { type: 'string' },
});
const host = '127.0.0.1';
const portA = intFlag(values, 'a', 1, 65_535);
const portB = intFlag(values, 'b', 1, 65_535);
const sessionCount = intFlag(values, 'sessions', 0, 15_000, 5000);
const echoCount = intFlag(values, 'echo', 0, 5000, 0);
const echoIntervalMs = intFlag(values, 'echo-interval-ms', 1, 10_000, 20);

const GAME = 1 << 8; // serverId with serverType 1
const reconnectedAt: number[] = [];
let failedAttempts = 0;
const failures: Record<string, number> = {};
let drained = 0;
let closedFirst = 0;
let rtt = new LogHistogram();
let echoErrors = 0;
const clients = new Set<RawWsClient>();

function isControl(chunk: Buffer, start: number): boolean {
  return (chunk.readUInt32LE(start + 4) & 0xff00) === 0;
}

/** Connects; resolves once WELCOME arrived. `onFrame` gets every later frame. */
type FrameHandler = (chunk: Buffer, start: number, length: number, at: number) => void;

async function open(port: number, onFrame: FrameHandler): Promise<RawWsClient> {
  let welcomed!: () => void;
  const welcome = new Promise<void>((resolve) => (welcomed = resolve));
  let first = true;
  const options = { host, port, protocol: SUBPROTOCOL, timeoutMs: 30_000 };
  const client = await RawWsClient.connect(options, (chunk, start, length, at) => {
    if (first && isControl(chunk, start) && chunk.readUInt16LE(start + 2) === Control.WELCOME) {
      first = false;
      welcomed();
      return;
    }
    onFrame(chunk, start, length, at);
  });
  clients.add(client);
  void client.closed.then(() => clients.delete(client));
  await welcome;
  return client;
}

/** Moves to B, retrying a failed attempt after 100 ms, as a client library's backoff would. */
async function reconnect(): Promise<void> {
  for (;;) {
    try {
      await open(portB, () => {});
      reconnectedAt.push(monoMs());
      return;
    } catch (err) {
      failedAttempts++;
      const why = (err as Error).message.replace(/\d+/g, 'N').slice(0, 60);
      failures[why] = (failures[why] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** A session on A: on DRAIN, after its reconnectAfterMs (or when A closes it first), it moves to B. */
async function openOnA(): Promise<void> {
  let moved = false;
  let timer: NodeJS.Timeout | undefined;
  const move = () => {
    if (moved) return;
    moved = true;
    clearTimeout(timer);
    void client.close(0);
    void reconnect();
  };
  const client: RawWsClient = await open(portA, (chunk, start) => {
    if (!isControl(chunk, start) || chunk.readUInt16LE(start + 2) !== Control.DRAIN) return;
    drained++;
    timer = setTimeout(move, chunk.readUInt32LE(start + 8));
  });
  void client.closed.then(() => {
    if (!moved) closedFirst++;
    move();
  });
}

/** An established session on B: one frame every echoIntervalMs, its echo timed. */
async function openEcho(): Promise<void> {
  let sentAt = 0;
  const client = await open(portB, (chunk, start, _length, at) => {
    if (isControl(chunk, start)) {
      echoErrors++;
      return;
    }
    rtt.record((at - sentAt) * 1000);
    sentAt = 0;
  });
  const frame = Buffer.alloc(16);
  frame.writeUInt16LE(8, 0);
  frame.writeUInt32LE(GAME, 4);
  const timer = setInterval(() => {
    if (sentAt !== 0) return; // the last one is still out: one in flight, as a game client waits for its answer
    sentAt = monoMs();
    client.send(frame);
  }, echoIntervalMs);
  void client.closed.then(() => clearInterval(timer));
}

serveParent(
  (request) => {
    if (request.type === 'record') {
      rtt = new LogHistogram();
      return {};
    }
    if (request.type === 'moved') return { moved: reconnectedAt.length };
    if (request.type === 'report') {
      const report: ClientsReport = {
        reconnectedAt,
        failedAttempts,
        failures,
        drained,
        closedFirst,
        rtt: rtt.toJSON(),
        echoErrors,
      };
      return report;
    }
    throw new Error(`unknown request ${request.type}`);
  },
  async () => {
    await Promise.all([...clients].map((c) => c.close(200)));
  },
);

const CONCURRENCY = 50;
for (let from = 0; from < echoCount; from += CONCURRENCY) {
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, echoCount - from) }, () => openEcho()));
}
for (let from = 0; from < sessionCount; from += CONCURRENCY) {
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, sessionCount - from) }, () => openOnA()));
}
announceReady({ pid: process.pid, sessions: sessionCount, echo: echoCount } satisfies ClientsReady);
