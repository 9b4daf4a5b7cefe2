/**
 * The suite's two load generators, native (bench/native/loadgen.c, built here) and Node, driven the way the suite
 * drives them, against one real uWS server: echoes counted and timed, ERROR control frames counted per code, nothing
 * lost or reordered, open-loop sends made at the rate asked. Same assertions for both, so they report alike.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import uWS from 'uWebSockets.js';
import { BenchChild } from '../../../bench/lib/child-process.ts';
import { LogHistogram } from '../../../bench/lib/histogram.ts';
import type { ConnectAnswer, LoadgenReady, RunAnswer } from '../../../bench/suite/loadgen-process.ts';
import { buildNativeLoadgen, nativeLine } from '../../../bench/suite/native-loadgen.ts';
import { FIFO_MAX_RATE } from '../../../bench/suite/report-instrument.ts';

const suite = resolve(import.meta.dirname, '../../../bench/suite');
const TO_ECHO = 1 << 8;
/** Messages to serverType 2 are refused with this ERROR code. */
const TO_REFUSED = 2 << 8;
const REFUSED_CODE = 4201;

/** Echoes every binary message, except those for serverType 2: answered with an actorgate ERROR control frame. */
function startServer(): { port: number; open: () => number; close: () => void } {
  const error = Buffer.alloc(10);
  error.writeUInt16LE(2, 0); // body length
  error.writeUInt16LE(2, 2); // control type ERROR
  error.writeUInt32LE(0, 4); // serverId 0: control
  error.writeUInt16LE(REFUSED_CODE, 8);
  let listenSocket: unknown;
  let open = 0;
  const app = uWS.App().ws('/*', {
    open: () => void open++,
    close: () => void open--,
    message: (ws, message) => {
      const serverId = Buffer.from(message).readUInt32LE(4);
      ws.send(((serverId >>> 8) & 0xff) === 2 ? error : message, true);
    },
  });
  let port = 0;
  app.listen('127.0.0.1', 0, (socket) => {
    listenSocket = socket;
    port = uWS.us_socket_local_port(socket);
  });
  if (listenSocket === undefined) throw new Error('uWS did not listen');
  return { port, open: () => open, close: () => app.close() };
}

const build = buildNativeLoadgen();

test('native requests are one line of fields in the order bench/native/loadgen.c reads them', () => {
  assert.equal(
    nativeLine(1, { type: 'connect', id: 7, host: '127.0.0.1', port: 9000, concurrency: 64, groups: [{ serverId: TO_ECHO, count: 3 }, { serverId: TO_REFUSED, count: 1 }] }),
    '7 1 connect 127.0.0.1 9000 64 - 2 256 3 512 1',
  );
  assert.equal(
    nativeLine(0, { type: 'run', id: 8, spec: { payloadBytes: 32, warmupMs: 1, measureMs: 2, drainMs: 3, groups: [{ mode: 'closed', window: 4 }, { mode: 'open', rate: 1500.5 }, { mode: 'idle' }] } }),
    '8 0 run 32 1 2 3 3 c 4 o 1500.5 i 0',
  );
});

test('the report states the real-time rate limit the native generator has', { skip: 'reason' in build ? build.reason : false }, () => {
  const source = readFileSync(resolve(import.meta.dirname, '../../../bench/native/loadgen.c'), 'utf8');
  assert.equal(Number(/#define FIFO_MAX_RATE ([\d.]+)/.exec(source)?.[1]), FIFO_MAX_RATE);
});

for (const generator of ['native', 'node'] as const) {
  const skip = generator === 'native' && 'reason' in build ? `no native generator: ${build.reason}` : false;
  describe(`the ${generator} load generator`, { skip }, () => {
    let server: ReturnType<typeof startServer>;
    let loadgen: BenchChild<LoadgenReady>;
    let ready: LoadgenReady;

    before(async () => {
      server = startServer();
      const native = generator === 'native' && 'binary' in build ? ['--native', build.binary] : [];
      loadgen = new BenchChild<LoadgenReady>('loadgen', resolve(suite, 'loadgen-process.ts'), ['--threads', '2', ...native]);
      ready = await loadgen.ready;
    });

    after(async () => {
      await loadgen.stop();
      server.close();
    });

    test('opens its connections and says which generator it is', async () => {
      assert.equal(ready.generator, generator);
      assert.equal(ready.threads, 2);
      const answer = await loadgen.request<ConnectAnswer>({
        type: 'connect',
        host: '127.0.0.1',
        port: server.port,
        groups: [
          { serverId: TO_ECHO, count: 8 },
          { serverId: TO_REFUSED, count: 2 },
        ],
      });
      assert.deepEqual(answer.opened, [8, 2]);
      assert.equal(answer.failed, 0);
    });

    test('closed loop: every message echoed in order and timed, none behind or unanswered', async () => {
      const answer = await loadgen.request<RunAnswer>({
        type: 'run',
        spec: { payloadBytes: 32, warmupMs: 200, measureMs: 1000, drainMs: 2000, groups: [{ mode: 'closed', window: 4 }, { mode: 'idle' }] },
      });
      const [echo, idle] = answer.groups;
      assert.ok(echo!.sent > 1000, `sent ${echo!.sent}`);
      assert.equal(echo!.echoed, echo!.sent);
      assert.equal(echo!.latency.count, echo!.echoed);
      assert.ok(echo!.echoedInWindow > 0);
      assert.equal(echo!.outOfOrder, 0);
      assert.equal(echo!.clientBehind, 0);
      assert.equal(echo!.unanswered, 0);
      assert.deepEqual(echo!.errors, {});
      assert.equal(idle!.sent, 0);
      assert.deepEqual(answer.scheduling, []);
    });

    test('open loop: sends at the rate asked, each one timed from its due time; refusals counted by code', async () => {
      const answer = await loadgen.request<RunAnswer>({
        type: 'run',
        spec: { payloadBytes: 64, warmupMs: 200, measureMs: 1000, drainMs: 2000, groups: [{ mode: 'open', rate: 2000 }, { mode: 'open', rate: 200 }] },
      });
      const [echo, refused] = answer.groups;
      assert.ok(Math.abs(echo!.sent - 2000) <= 2, `sent ${echo!.sent} of 2000 due`);
      assert.equal(echo!.echoed, echo!.sent);
      assert.equal(echo!.sendLateness.count, echo!.sent);
      assert.equal(echo!.latency.count, echo!.sent);
      // Every latency is at least the client's own lateness: the stamp is the due time, not the send time.
      assert.ok(LogHistogram.from(echo!.latency).quantile(0.5) >= LogHistogram.from(echo!.sendLateness).quantile(0.5));
      assert.equal(echo!.unanswered, 0);
      assert.equal(echo!.outOfOrder, 0);
      assert.ok(Math.abs(refused!.sent - 200) <= 2, `sent ${refused!.sent} of 200 due`);
      assert.equal(refused!.echoed, 0);
      assert.deepEqual(refused!.errors, { [REFUSED_CODE]: refused!.sent });
      assert.equal(refused!.unanswered, 0);
      // Both threads sent; the native ones say how they were scheduled.
      assert.equal(answer.scheduling.length, 2);
      for (const s of answer.scheduling) assert.ok(generator === 'native' ? s === 'fifo' || s === 'normal' : s === 'node', s);
    });

    test('disconnects every connection', async () => {
      assert.equal(server.open(), 10);
      await loadgen.request({ type: 'disconnect' });
      const deadline = performance.now() + 3000;
      while (server.open() > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(server.open(), 0);
      const answer = await loadgen.request<RunAnswer>({
        type: 'run',
        spec: { payloadBytes: 32, warmupMs: 0, measureMs: 200, drainMs: 0, groups: [{ mode: 'closed', window: 1 }] },
      });
      assert.equal(answer.groups[0]?.sent ?? 0, 0);
    });
  });
}
