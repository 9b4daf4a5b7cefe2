/**
 * Per-session message rates (docs/PROTOCOL.md §7): past the buckets a message is refused with RATE_LIMITED, a session
 * that keeps being refused is closed with RATE_LIMIT_EXCEEDED, and a flooder does not change the round trips of
 * another client on the same worker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Gateway } from '../../src/gateway.ts';
import { Code, PacketKind, connectClient, packServerId, startMockBackend, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import { metric, testGateway, urlOf, waitUntil } from './helpers.ts';

const GAME = packServerId({ serverType: 1 });
const RATE = 1000;
const CLOSE_AFTER_MS = 1500;

let backend: MockBackend;
let gateway: Gateway;

before(async () => {
  backend = await startMockBackend();
  // One worker, so the flooder and the measured client share its event loop.
  gateway = await testGateway({
    workers: 1,
    routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
    limits: { messagesPerSecond: RATE, messageBurst: RATE, bytesPerSecond: 200_000, byteBurst: 150_000, rateLimitCloseAfterMs: CLOSE_AFTER_MS },
  });
});

after(async () => {
  await gateway.close();
  await backend.close();
});

function errorCodes(client: ProtocolClient): number[] {
  return client.controls.flatMap((c) => (c.type === 'error' ? [c.code] : []));
}

/** Sequential echo round trips, in milliseconds each. */
async function roundTrips(client: ProtocolClient, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    client.send(i, GAME, `rt${i}`);
    await client.nextFrame();
    times.push(performance.now() - started);
  }
  return times;
}

const p99 = (times: number[]) => [...times].sort((a, b) => a - b)[Math.ceil(times.length * 0.99) - 1]!;

/** Runs test/fixtures/flooder.ts against the gateway; resolves its JSON lines as they come. */
function startFlooder(url: string): { line: (key: string) => Promise<Record<string, number | string | boolean>>; exited: Promise<unknown> } {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../fixtures/flooder.ts', import.meta.url)), url], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Record<string, number | string | boolean>[] = [];
  let rest = '';
  child.stdout!.on('data', (d: Buffer) => {
    const text = rest + d.toString();
    const parts = text.split('\n');
    rest = parts.pop()!;
    for (const part of parts) if (part.trim() !== '') lines.push(JSON.parse(part));
  });
  return {
    line: (key) => waitUntil(() => lines.find((l) => key in l), 20_000, `the flooder's "${key}"`),
    exited: once(child, 'exit'),
  };
}

test('a flooder gets RATE_LIMITED, then RATE_LIMIT_EXCEEDED; the backend gets no more than its rate; another client\'s p99 on the worker stays low', { timeout: 30_000 }, async () => {
  const good = await connectClient(urlOf(gateway));
  const quiet = await roundTrips(good, 150);

  const flooder = startFlooder(urlOf(gateway));
  const session = (await flooder.line('session')).session as string;
  await flooder.line('limited');
  const limitedAt = performance.now();
  const loaded = await roundTrips(good, 150);
  const result = await flooder.line('closeCode');
  const refusingMs = performance.now() - limitedAt;
  await flooder.exited;

  assert.equal(result.closeCode, Code.RATE_LIMIT_EXCEEDED);
  assert.ok(refusingMs < CLOSE_AFTER_MS + 3000, `closed ${refusingMs} ms after its first refusal`);
  assert.equal(result.others, 0, 'every refusal is RATE_LIMITED');
  const sent = result.sent as number;
  assert.ok(sent > 10 * RATE, `the flood was a flood (${sent} messages)`);
  assert.ok((result.rateLimited as number) > sent / 2, `${result.rateLimited as number} of ${sent} refused`);
  // The burst, then the rate for as long as the flood lasted (the close comes CLOSE_AFTER_MS into the refusals).
  const forwarded = backend.packets.filter((p) => p.kind === PacketKind.DATA && p.sessionId === session).length;
  assert.ok(forwarded <= RATE + (RATE * (CLOSE_AFTER_MS + 1500)) / 1000, `${forwarded} of the flooder's messages reached the backend`);

  const figures = `p99 quiet ${p99(quiet).toFixed(1)} ms, while flooded ${p99(loaded).toFixed(1)} ms`;
  if (process.env.ACTORGATE_TEST_VERBOSE) console.log(figures);
  assert.ok(p99(loaded) < 50, `the other client's round trips: ${figures}`);
  assert.equal(errorCodes(good).length, 0, 'the other client was refused nothing');
  assert.equal(good.closeInfo, undefined);
  assert.ok((await metric(gateway, 'actorgate_client_messages_refused_total', { reason: 'rate_limited' })) > 0);
  assert.equal(await metric(gateway, 'actorgate_rate_limit_closes_total'), 1);
  await good.close();
});

test('past limits.byteBurst a message is refused RATE_LIMITED naming it; the bucket refills at limits.bytesPerSecond', async () => {
  const client = await connectClient(urlOf(gateway));
  const big = Buffer.alloc(60_000, 7);
  client.send(1, GAME, big);
  client.send(2, GAME, big);
  client.send(3, GAME, big);
  const refusal = await client.waitForControl('error');
  assert.deepEqual([refusal.code, refusal.refMsgId, refusal.refServerId], [Code.RATE_LIMITED, 3, GAME]);
  assert.equal((await client.waitForFrames(2)).length, 2);
  // 60,000 bytes at 200,000 a second: a third of a second later it passes.
  await waitUntil(async () => {
    client.send(4, GAME, big);
    return client.waitForFrames(3, 300).then(() => true, () => false);
  }, 5000, 'the refilled bucket');
  assert.equal(client.closeInfo, undefined);
  await client.close();
});
