/**
 * Takes docs/dashboard.png: a real gateway (2 workers) under some load, one of its two backends stalled, its
 * dashboard opened in headless Chromium (bench/dashboard/browser.ts).
 *
 *   node --import tsx bench/dashboard/screenshot.ts [--out docs/dashboard.png]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startGateway } from '../../src/gateway.ts';
import { connectClient, packServerId, startMockBackend, waitUntil } from '../../src/testkit/index.ts';
import type { ProtocolClient } from '../../src/testkit/index.ts';
import { launchChromium } from './browser.ts';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/dashboard.png' } } });
const out = resolve(import.meta.dirname, '../..', values.out!);
const GAME = packServerId({ serverType: 1 });
const STUCK = packServerId({ serverType: 2 });

const game = await startMockBackend();
const stalled = await startMockBackend();
const gateway = await startGateway({
  workers: 2,
  name: 'demo',
  listen: { host: '127.0.0.1', port: 0 },
  admin: { port: 0 },
  log: { level: 'silent' },
  routes: [
    { serverType: 1, endpoints: [game.endpoint] },
    { serverType: 2, endpoints: [stalled.endpoint] },
  ],
  // Small batches, so a write sticks soon after the backend stops reading.
  backend: { mailboxCapacity: 256, maxBatchPackets: 8, maxBatchBytes: 4096, writeStallMs: 300, circuitOpenMs: 60_000 },
  limits: { messagesPerSecond: 0, bytesPerSecond: 0 },
});
const browser = await launchChromium({ width: 1280, height: 820 });
const clients: ProtocolClient[] = [];
const timers: NodeJS.Timeout[] = [];
try {
  await game.waitForStreams(2);
  await stalled.waitForStreams(2);
  stalled.stall();
  for (let i = 0; i < 60; i++) clients.push(await connectClient(`ws://127.0.0.1:${gateway.port}/`));
  let seq = 0;
  // Steady echo traffic from every client, and one client that keeps writing to the stalled backend.
  timers.push(setInterval(() => clients.forEach((c) => c.send(seq++ & 0xffff, GAME, 'tick')), 20));
  const stuck = clients[0]!;
  const payload = Buffer.alloc(1024, 1);
  timers.push(setInterval(() => { for (let i = 0; i < 20; i++) stuck.send(seq++ & 0xffff, STUCK, payload); }, 10));
  const push = `http://127.0.0.1:${gateway.adminPort}/v1/push`;
  const pushed = { sessionId: clients[1]!.sessionId, msgId: 1, serverId: GAME, payload: 'aGk=' };
  const body = JSON.stringify({ pushes: [pushed] });
  const headers = { 'content-type': 'application/json' };
  timers.push(setInterval(() => void fetch(push, { method: 'POST', body, headers }), 25));

  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${gateway.adminPort}/dashboard`);
  const circuit = `tr[data-endpoint="${stalled.endpoint}"][data-worker="${stuck.worker}"] td[data-field="circuit"]`;
  const circuitOpen = async () => (await page.$eval(circuit, (td) => td.textContent).catch(() => '')) === 'open';
  await waitUntil(circuitOpen, 15_000, 'the circuit to open');
  // A few frames more, so the rates cover a whole interval of steady load.
  await new Promise((r) => setTimeout(r, 1500));
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  for (const timer of timers) clearInterval(timer);
  await browser.close();
  await Promise.all(clients.map((c) => c.close()));
  await gateway.close();
  await Promise.all([game.close(), stalled.close()]);
}
