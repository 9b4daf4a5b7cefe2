import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectClient, packServerId, startMockBackend, waitUntil } from '../../src/testkit/index.ts';
import { startDemoBackend } from '../../src/demo/demo-backend.ts';
import { testGateway, urlOf } from './helpers.ts';

const bin = fileURLToPath(new URL('../../bin/actorgate.js', import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number);
  return { child, out, exited };
}

test('actorgate --help documents the commands, flags and environment variables', async () => {
  const { out, exited } = run(['--help']);
  assert.equal(await exited, 0);
  const words = ['actorgate start', 'actorgate demo', '--workers', '--config', 'ACTORGATE_WORKERS', 'ACTORGATE_ROUTES'];
  words.push('--limits-max-payload-bytes', '--backend-mailbox-capacity', '"authorizeTopics"', 'faultInjection', '--log-destination');
  for (const word of words) {
    assert.ok(out.stdout.includes(word), `help mentions ${word}`);
  }
});

test('a bad config file stops start with exit code 2 and names the field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'actorgate-cli-'));
  const file = join(dir, 'gateway.json');
  writeFileSync(file, JSON.stringify({ listen: { port: 0 }, routes: [{ serverType: 1, endpoints: ['no-port-here'] }] }));
  const { out, exited } = run(['start', '--config', file]);
  assert.equal(await exited, 2);
  assert.match(out.stderr, /routes\[0\]\.endpoints\[0\]/);
  assert.doesNotMatch(out.stderr, /\n\s+at /, 'no stack trace');
});

test('an ACTORGATE_* variable is validated like the flag it stands for', async () => {
  const { out, exited } = run(['start'], { ACTORGATE_WORKERS: 'many' });
  assert.equal(await exited, 2);
  assert.match(out.stderr, /ACTORGATE_WORKERS/);
});

test('actorgate start logs each connection open and close at info on stdout, as JSON lines', async () => {
  await using backend = await startMockBackend();
  const args = ['start', '--host', '127.0.0.1', '--port', '0', '--admin-port', 'off', '--push-port', 'off', '--workers', '1', '--route', `1=${backend.endpoint}`];
  const { child, out, exited } = run(args);
  const url = await waitUntil(
    () => {
      if (child.exitCode !== null) throw new Error(`start exited with ${child.exitCode}: ${out.stderr}`);
      return /ws:\/\/127\.0\.0\.1:\d+\//.exec(out.stdout)?.[0];
    },
    20_000,
    'actorgate start to print its URL',
  );
  const client = await connectClient(url);
  client.send(100, packServerId({ serverType: 1 }), 'hello');
  await client.waitForFrames(1, 10_000);
  await client.close();
  const logged = (msg: string) =>
    out.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string; session?: string })
      .find((line) => line.msg === msg && line.session === client.sessionId);
  // A thread's log lines reach stdout within about a second (its destination flushes at least every second).
  const open = await waitUntil(() => logged('connection open'), 10_000, `"connection open" on stdout:\n${out.stdout}`);
  assert.equal(open.level, 30, 'info');
  await waitUntil(() => logged('connection closed'), 10_000, '"connection closed" on stdout');
  child.kill('SIGINT');
  assert.equal(await exited, 0, out.stderr);
});

test('actorgate demo prints its WebSocket URL, echoes through the bundled backend, and stops on SIGINT', async () => {
  const { child, out, exited } = run(['demo', '--port', '0', '--admin-port', '0', '--push-port', '0']);
  const url = await waitUntil(
    () => {
      if (child.exitCode !== null) throw new Error(`demo exited with ${child.exitCode}: ${out.stderr}`);
      return /ws:\/\/127\.0\.0\.1:\d+\//.exec(out.stdout)?.[0];
    },
    20_000,
    'the demo to print its URL',
  );
  const client = await connectClient(url);
  client.send(100, packServerId({ serverType: 1 }), 'hello demo');
  assert.equal((await client.waitForFrame((f) => f.msgId === 100)).payload.toString(), 'hello demo');
  await client.close();
  child.kill('SIGINT');
  assert.equal(await exited, 0, out.stderr);
});

test('the demo backend broadcasts ticks to the sessions it knows', async () => {
  const backend = await startDemoBackend({ broadcastIntervalMs: 100 });
  await using gateway = await testGateway({ routes: [{ serverType: 1, endpoints: [backend.endpoint] }] });
  const client = await connectClient(urlOf(gateway));
  client.send(100, packServerId({ serverType: 1 }), 'join');
  const tick = await client.waitForFrame((f) => f.msgId === 1, 5000);
  assert.equal(JSON.parse(tick.payload.toString()).type, 'tick');
  await client.close();
  await backend.close();
});
