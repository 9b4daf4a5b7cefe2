/**
 * The fuzz harness: a 2-worker gateway in its own process (the `actorgate` command, as an attacker meets it), an echo
 * backend, `connections` fuzzing clients sending `frames` structure-aware mutated messages (frames.ts), the
 * WebSocket-level malformations on raw sockets (ws-malformations.ts), and one well-behaved client echoing a message
 * every 5 ms throughout. It reports what a user would check: the gateway process never died and no worker restarted,
 * its RSS growth, and the good client's round-trip p99 and losses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import WebSocket from 'ws';
import { MockBackend } from '../../src/testkit/mock-backend.ts';
import { freePort } from '../../src/testkit/free-port.ts';
import { SUBPROTOCOL, packServerId, serverTypeOf } from '../../src/protocol/frame.ts';
import { fuzzMessage, KINDS, pickKind, Rng, type FuzzKind, type FuzzSettings } from './frames.ts';
import { runMalformations, type CaseResult } from './ws-malformations.ts';

const root = resolve(import.meta.dirname, '../..');
const ROUTED = 1;
const MAX_PAYLOAD = 4096;
/** Client send buffer a fuzzing connection fills before it waits for the socket to drain. */
const HIGH_WATER = 256 * 1024;

export interface FuzzOptions {
  frames: number;
  connections: number;
  seed: number;
}

export interface FuzzResult {
  options: FuzzOptions;
  seconds: number;
  framesSent: number;
  byKind: Record<FuzzKind, number>;
  /** Fuzzing connections the gateway ended (each was replaced). */
  reconnects: number;
  /** The gateway process exited during the run. */
  processExited: boolean;
  workerRestarts: number;
  rssStartMiB: number;
  rssEndMiB: number;
  good: { sent: number; echoed: number; lost: number; p50Ms: number; p99Ms: number };
  malformations: CaseResult[];
  uwsVersion: string;
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
}

async function waitForHealth(adminPort: number, child: ChildProcess): Promise<void> {
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(`http://127.0.0.1:${adminPort}/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error('gateway not ready within 15 s');
}

async function workerRestarts(adminPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('actorgate_worker_restarts{'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The well-behaved client: one echo every 5 ms, timed; stops on `stop()`, then waits for the last echoes. */
async function goodClient(url: string) {
  const ws = new WebSocket(url, SUBPROTOCOL);
  ws.binaryType = 'nodebuffer';
  await new Promise<void>((done, fail) => {
    ws.once('open', () => done());
    ws.once('error', fail);
  });
  const sentAt = new Map<number, number>();
  const rtts: number[] = [];
  let seq = 0;
  const serverId = packServerId({ serverType: ROUTED });
  ws.on('message', (data: Buffer) => {
    if (data.length < 12 || serverTypeOf(data.readUInt32LE(4)) !== ROUTED) return;
    const started = sentAt.get(data.readUInt32LE(8));
    if (started === undefined) return;
    sentAt.delete(data.readUInt32LE(8));
    rtts.push(performance.now() - started);
  });
  const timer = setInterval(() => {
    const message = Buffer.alloc(12);
    message.writeUInt16LE(4, 0);
    message.writeUInt16LE(1, 2);
    message.writeUInt32LE(serverId, 4);
    message.writeUInt32LE(seq, 8);
    sentAt.set(seq++, performance.now());
    ws.send(message);
  }, 5);
  return {
    async stop() {
      clearInterval(timer);
      const deadline = performance.now() + 3000;
      while (sentAt.size > 0 && performance.now() < deadline) await new Promise((done) => setTimeout(done, 20));
      ws.close();
      const sorted = rtts.sort((a, b) => a - b);
      return { sent: seq, echoed: rtts.length, lost: seq - rtts.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
    },
  };
}

/** One fuzzing connection: sends its share of messages as fast as the socket drains, reconnecting whenever the gateway ends it. */
async function fuzzer(url: string, rng: Rng, share: number, settings: FuzzSettings, byKind: Record<FuzzKind, number>, counts: { reconnects: number }): Promise<number> {
  let sent = 0;
  while (sent < share) {
    const ws = new WebSocket(url, SUBPROTOCOL);
    ws.on('message', () => {});
    const opened = await new Promise<boolean>((done) => {
      ws.once('open', () => done(true));
      ws.once('error', () => done(false));
    });
    if (!opened) continue;
    await new Promise<void>((done) => {
      ws.once('close', () => done());
      ws.on('error', () => {});
      const pump = () => {
        while (sent < share && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < HIGH_WATER) {
          const kind = pickKind(rng);
          const message = fuzzMessage(rng, kind, settings);
          byKind[kind]++;
          sent++;
          if ('text' in message) ws.send(message.text);
          else ws.send(message.binary);
        }
        if (ws.readyState !== WebSocket.OPEN) return;
        if (sent >= share) ws.close();
        else setImmediate(pump);
      };
      pump();
    });
    if (sent < share) counts.reconnects++;
  }
  return sent;
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  await using backend = await new MockBackend({ mode: 'echo', maxRecordedPackets: 0 }).listen();
  const [port, adminPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [resolve(root, 'bin/actorgate.js'), 'start', '--workers', '2', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), '--push-port', 'off',
    '--route', `${ROUTED}=${backend.endpoint}`, '--topics-allow', 'fuzz.*', '--limits-max-payload-bytes', String(MAX_PAYLOAD),
    // A fuzzing connection earns a violation with most messages: a budget this large keeps it open, so the frames
    // reach the checks behind the violation policy instead of mostly exercising reconnects. The fuzzers send as fast
    // as they can: with the per-session rates on, nearly every frame would stop at the rate limit instead.
    '--limits-max-violations', '1000000', '--limits-messages-per-second', '0', '--limits-bytes-per-second', '0', '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'inherit'] });
  let processExited = false;
  child.once('exit', () => (processExited = true));
  try {
    await waitForHealth(adminPort, child);
    const url = `ws://127.0.0.1:${port}/fuzz`;
    const good = await goodClient(url);
    const rssStartMiB = rssMiB(child.pid!);
    const started = performance.now();
    const byKind = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<FuzzKind, number>;
    const counts = { reconnects: 0 };
    const settings: FuzzSettings = { routedServerType: ROUTED, maxPayloadBytes: MAX_PAYLOAD };
    const share = Math.ceil(options.frames / options.connections);
    const sent = await Promise.all(Array.from({ length: options.connections }, (_, i) => fuzzer(url, new Rng(options.seed + i), share, settings, byKind, counts)));
    const malformations = await runMalformations('127.0.0.1', port, SUBPROTOCOL);
    const seconds = (performance.now() - started) / 1000;
    const goodResult = await good.stop();
    const rssEndMiB = processExited ? NaN : rssMiB(child.pid!);
    const restarts = processExited ? NaN : await workerRestarts(adminPort);
    const uwsVersion = (JSON.parse(readFileSync(resolve(root, 'node_modules/uWebSockets.js/package.json'), 'utf8')) as { version: string }).version;
    return {
      options,
      seconds,
      framesSent: sent.reduce((a, b) => a + b, 0),
      byKind,
      reconnects: counts.reconnects,
      processExited,
      workerRestarts: restarts,
      rssStartMiB,
      rssEndMiB,
      good: goodResult,
      malformations,
      uwsVersion,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise<void>((done) => (child.exitCode !== null ? done() : child.once('exit', () => done())));
  }
}
