/**
 * The established sessions of the authentication benchmark (bench/auth/main.ts), in their own process: `--sessions`
 * WebSocket sessions (each upgraded with its own token) that echo through the gateway to the echo backend at a fixed
 * rate each, open loop: message j is due at start + j / (sessions × rate) on session j mod sessions and stamped with
 * that due time, so a stall anywhere (the gateway's loop, above all) counts in full (no coordinated omission).
 * `mark` returns the round trips since the last mark; `pause` and `resume` stop and restart the sending (the
 * benchmark alternates between two gateways, and the one not being measured is left idle).
 *
 *   node --import tsx bench/auth/sessions-process.ts --port P --tokens FILE [--sessions 1000] [--rate 5]
 */
import { readFileSync } from 'node:fs';
import { intFlag, parseFlags } from '../lib/args.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';
import { LogHistogram, type HistogramJSON } from '../lib/histogram.ts';
import { LoadConnection, type Receiver } from '../suite/load-connection.ts';
import type { TokenFile } from './tokens.ts';

export interface SessionsReady {
  pid: number;
  sessions: number;
}

export interface SessionsMark {
  /** Round trips, microseconds from each message's due time to its echo. */
  latency: HistogramJSON;
  sent: number;
  /** Due but not sent: the session's socket still held unsent bytes (this process was behind). */
  behind: number;
  /** ERROR frames (a refused message) by code, and sessions the gateway closed. */
  errors: Record<string, number>;
  closed: number;
  elapsedMs: number;
}

const values = parseFlags(process.argv.slice(2), { port: { type: 'string' }, tokens: { type: 'string' }, sessions: { type: 'string' }, rate: { type: 'string' } });
const port = intFlag(values, 'port', 1, 65535);
const count = intFlag(values, 'sessions', 1, 15_000, 1000);
const rate = intFlag(values, 'rate', 1, 1000, 5);
const tokens = (JSON.parse(readFileSync(values.tokens!, 'utf8')) as TokenFile).sessions;
/** serverType 1: the echo backend's route. */
const SERVER_ID = 1 << 8;
const OPEN_CONCURRENCY = 32;

let latency = new LogHistogram();
let sent = 0;
let behind = 0;
let errors: Record<string, number> = {};
let markedAt = performance.now();

const receiver: Receiver = {
  onEcho(_conn, stampUs, _seq, nowUs) {
    latency.record(nowUs - stampUs);
  },
  onError(_conn, code) {
    errors[code] = (errors[code] ?? 0) + 1;
  },
};

const connections: LoadConnection[] = [];
for (let at = 0; at < count; at += OPEN_CONCURRENCY) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(OPEN_CONCURRENCY, count - at) }, (_, i) =>
      LoadConnection.open({ host: '127.0.0.1', port, serverId: SERVER_ID, protocol: 'actorgate.v1', path: `/?access_token=${tokens[(at + i) % tokens.length]}` }, 0, receiver),
    ),
  );
  for (const conn of batch) {
    conn.prepare(16, 8);
    connections.push(conn);
  }
}

const intervalUs = 1e6 / (count * rate);
let startUs = performance.now() * 1000;
let nextIndex = 0;
let paused = false;
const ticker = setInterval(() => {
  if (paused) return;
  const nowUs = performance.now() * 1000;
  for (;;) {
    const dueUs = startUs + nextIndex * intervalUs;
    if (dueUs > nowUs) break;
    const conn = connections[nextIndex % count]!;
    nextIndex++;
    if (conn.send(dueUs, nextIndex)) sent++;
    else behind++;
  }
}, 1);

function mark(): SessionsMark {
  const now = performance.now();
  const result: SessionsMark = { latency: latency.toJSON(), sent, behind, errors, closed: connections.filter((c) => c.closed).length, elapsedMs: now - markedAt };
  latency = new LogHistogram();
  sent = 0;
  behind = 0;
  errors = {};
  markedAt = now;
  return result;
}

serveParent(
  (message) => {
    if (message.type === 'mark') return mark();
    if (message.type === 'pause' || message.type === 'resume') {
      paused = message.type === 'pause';
      // Resumed: the schedule starts again from now (nothing is owed for the pause).
      startUs = performance.now() * 1000 - nextIndex * intervalUs;
      return {};
    }
    throw new Error(`unknown request ${message.type}`);
  },
  async () => {
    clearInterval(ticker);
    await Promise.all(connections.map((c) => c.close(1000)));
  },
);

announceReady({ pid: process.pid, sessions: connections.length } satisfies SessionsReady);
