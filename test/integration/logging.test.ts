import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectClient, packServerId, startMockBackend, waitUntil, type MockBackend } from '../../src/testkit/index.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { scrapeMetrics, testGateway, urlOf } from './helpers.ts';

const GAME = packServerId({ serverType: 1 });

let dir: string;
let file: string;
let backend: MockBackend;
let gateway: Gateway;

interface LogLine {
  level: number;
  msg: string;
  worker: number | string;
  session?: string;
  [key: string]: unknown;
}

function logLines(path = file): LogLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogLine);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'actorgate-logging-'));
  file = join(dir, 'gateway.log');
  backend = await startMockBackend();
  gateway = await testGateway({
    routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
    log: { level: 'info', destination: file },
  });
});

after(async () => {
  await gateway.close();
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a session logs one "connection open" and one "connection closed" line with its worker, and nothing per message', async () => {
  const client = await connectClient(urlOf(gateway));
  const messages = 200;
  for (let i = 0; i < messages; i++) client.send(7, GAME, `message ${i}`);
  const echoes = await client.waitForFrames(messages, 10_000);
  assert.equal(echoes.at(-1)!.payload.toString(), `message ${messages - 1}`);
  await client.close();

  // Each thread's logs reach the file within about a second (its destination flushes at least every second).
  const ofSession = await waitUntil(
    () => {
      const all = logLines();
      const lines = all.filter((line) => line.session === client.sessionId);
      const threads = new Set(all.map((line) => line.worker));
      return lines.some((line) => line.msg === 'connection closed') && threads.size === 3 ? lines : undefined;
    },
    10_000,
    `the "connection closed" line of session ${client.sessionId}, and lines from all three threads, in ${file}`,
  );
  assert.deepEqual(
    ofSession.map((line) => line.msg),
    ['connection open', 'connection closed'],
  );
  for (const line of ofSession) {
    assert.equal(line.worker, client.worker, 'the line carries the owning worker as its binding');
    assert.equal(line.level, 30, 'info');
  }
  // Every line of the run: start-up (a few per thread) and this session's two, none of the 200 messages.
  const all = logLines();
  assert.ok(all.length < 20, `${all.length} log lines for one session of ${messages} messages:\n${all.map((l) => l.msg).join('\n')}`);
  assert.ok(!all.some((line) => JSON.stringify(line).includes('message 1')), 'no message payload is logged');
  assert.ok(all.some((line) => line.worker === 'main'), 'the supervisor logs to the same destination');
  assert.deepEqual(new Set(all.filter((l) => l.msg === 'worker listening').map((l) => l.worker)), new Set([0, 1]), 'both workers log there, with their index');

  const metrics = await scrapeMetrics(gateway);
  for (const worker of ['main', '0', '1']) assert.deepEqual(metrics.samples('actorgate_log_dropped_total', { worker }), [0], `worker ${worker}: no log line dropped`);
});

test('a gateway started without a log level writes no info lines (connections, listening), only warnings', async () => {
  const quiet = join(dir, 'embedded.log');
  // No level given: the library's default applies. Port 1 refuses connections, so serverType 2 yields a warning.
  const embedded = await startGateway({
    workers: 2,
    listen: { host: '127.0.0.1', port: 0 },
    admin: { port: null },
    push: { port: null },
    routes: [
      { serverType: 1, endpoints: [backend.endpoint] },
      { serverType: 2, endpoints: ['127.0.0.1:1'] },
    ],
    log: { destination: quiet },
  });
  try {
    assert.equal(embedded.config.log.level, 'warn');
    const client = await connectClient(urlOf(embedded));
    client.send(7, GAME, 'to a live backend');
    await client.waitForFrames(1, 10_000);
    client.send(7, packServerId({ serverType: 2 }), 'to a dead one');
    // The destination does receive lines: the dead endpoint is reported at warn within a flush or two.
    await waitUntil(() => logLines(quiet).some((line) => line.level >= 40) || undefined, 10_000, `a warning in ${quiet}`);
    await client.close();
  } finally {
    await embedded.close();
  }
  const lines = logLines(quiet);
  const chatty = lines.filter((line) => line.level < 40).map((line) => line.msg);
  assert.deepEqual(chatty, [], 'no info (or lower) lines from an embedded gateway');
  assert.ok(!lines.some((line) => line.msg === 'connection open'));
});
