/**
 * The reconnect storm of the authentication benchmark (bench/auth/main.ts), in its own process: `concurrency`
 * connectors in a closed loop, each opening a TCP connection, sending a WebSocket upgrade with a fresh token
 * (`Authorization: Bearer`, the next of the run's distinct tokens of one algorithm), and closing the connection as
 * soon as the answer is in: 101 is an upgrade, anything else a refusal, counted by status and the code in its JSON
 * body. A refusal that says `Retry-After` (503 AUTH_BUSY, 429) is honoured, as a well-behaved client would; the
 * connector then tries again. `mark` returns what happened since the last mark; `halt` ends the storm (`stop`, as
 * for every benchmark child, ends the process).
 *
 *   node --import tsx bench/auth/storm-process.ts --tokens FILE   (then `start` { port, alg, concurrency })
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseFlags } from '../lib/args.ts';
import { announceReady, serveParent } from '../lib/child-ipc.ts';
import { LogHistogram, type HistogramJSON } from '../lib/histogram.ts';
import type { TokenFile } from './tokens.ts';

export interface StormMark {
  upgraded: number;
  /** Refusals by "status NAME" (e.g. "503 AUTH_BUSY"). */
  refused: Record<string, number>;
  /** Connections that failed before an answer (connect error, reset, no answer within 10 s). */
  failed: number;
  /** Microseconds from connect() to the answer's head, upgrades only. */
  latency: HistogramJSON;
  elapsedMs: number;
}

const values = parseFlags(process.argv.slice(2), { tokens: { type: 'string' } });
/** The gateway being stormed, from `start`. */
let port = 0;
const tokens = JSON.parse(readFileSync(values.tokens!, 'utf8')) as TokenFile;
const ANSWER_TIMEOUT_MS = 10_000;

let generation = 0;
let active = 0;
let next = 0;
let storm: string[] = [];
let upgraded = 0;
let failed = 0;
let refused: Record<string, number> = {};
let latency = new LogHistogram();
let markedAt = performance.now();
const sockets = new Set<Socket>();
/** Connectors waiting out a Retry-After. */
const waiting = new Set<NodeJS.Timeout>();
let idle: (() => void) | undefined;

function request(token: string): string {
  return (
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: actorgate.v1\r\n` +
    `Authorization: Bearer ${token}\r\n\r\n`
  );
}

/** One attempt; calls `done(retryAfterMs)` once the connection is over. */
function attempt(done: (retryAfterMs: number) => void): void {
  const started = performance.now();
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  sockets.add(socket);
  let head = '';
  let finished = false;
  const finish = (retryAfterMs: number) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    sockets.delete(socket);
    socket.destroy();
    done(retryAfterMs);
  };
  const timer = setTimeout(() => {
    failed++;
    finish(0);
  }, ANSWER_TIMEOUT_MS);
  socket.on('data', (chunk: Buffer) => {
    head += chunk.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    const status = Number(head.slice(9, 12));
    if (status === 101) {
      upgraded++;
      latency.record((performance.now() - started) * 1000);
      return finish(0);
    }
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (head.length - end - 4 < length) return; // the body is still coming
    let name = '';
    try {
      name = (JSON.parse(head.slice(end + 4, end + 4 + length)) as { name?: string }).name ?? '';
    } catch {
      // not a gateway refusal body (uWS's own answer): the status alone names it
    }
    const key = `${status}${name === '' ? '' : ` ${name}`}`;
    refused[key] = (refused[key] ?? 0) + 1;
    const retryAfter = Number(/\r\nretry-after: *(\d+)/i.exec(head)?.[1] ?? 0);
    finish(retryAfter * 1000);
  });
  socket.on('error', () => {
    failed++;
    finish(0);
  });
  socket.on('close', () => {
    if (finished) return;
    failed++;
    finish(0);
  });
  socket.write(request(storm[next++ % storm.length]!));
}

function connector(gen: number): void {
  if (gen !== generation) {
    active--;
    if (active === 0) idle?.();
    return;
  }
  attempt((retryAfterMs) => {
    if (retryAfterMs === 0 || gen !== generation) return void setImmediate(() => connector(gen));
    const timer = setTimeout(() => {
      waiting.delete(timer);
      connector(gen);
    }, retryAfterMs);
    waiting.add(timer);
  });
}

function mark(): StormMark {
  const now = performance.now();
  const result: StormMark = { upgraded, refused, failed, latency: latency.toJSON(), elapsedMs: now - markedAt };
  upgraded = 0;
  failed = 0;
  refused = {};
  latency = new LogHistogram();
  markedAt = now;
  return result;
}

/** Stops the connectors: each ends after its current attempt (one waiting out a Retry-After ends at once). */
function stop(): Promise<void> {
  generation++;
  for (const timer of waiting) {
    clearTimeout(timer);
    active--;
  }
  waiting.clear();
  if (active === 0) return Promise.resolve();
  return new Promise((resolve) => {
    idle = () => {
      idle = undefined;
      resolve();
    };
  });
}

serveParent(
  async (message) => {
    const body = message as unknown as { alg?: string; concurrency?: number; port?: number };
    switch (message.type) {
      case 'start': {
        await stop();
        port = body.port!;
        storm = tokens.storm[body.alg as keyof TokenFile['storm']];
        if (storm === undefined) throw new Error(`no tokens for ${body.alg}`);
        const gen = generation;
        for (let i = 0; i < body.concurrency!; i++) {
          active++;
          connector(gen);
        }
        return {};
      }
      case 'mark':
        return mark();
      case 'halt':
        await stop();
        return {};
      default:
        throw new Error(`unknown request ${message.type}`);
    }
  },
  async () => {
    generation++;
    for (const socket of sockets) socket.destroy();
  },
);

announceReady({ pid: process.pid });
