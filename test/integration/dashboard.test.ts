/**
 * The live dashboard (GET /dashboard) in a real headless Chromium, against a real gateway: the numbers on the page
 * follow the gateway as clients come and go and as a backend stalls. Chromium is required (CHROMIUM_PATH or
 * /usr/bin/chromium): without it this test fails, it does not skip.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'puppeteer-core';
import { connectClient, packServerId, startMockBackend, waitUntil, type MockBackend } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { hashApiKey } from '../../src/core/api-keys.ts';
import { defaultDashboardStreamOptions } from '../../src/admin/dashboard-stream.ts';
import { testGateway, urlOf } from './helpers.ts';
import { launchChromium } from '../../bench/dashboard/browser.ts';

/** The page's document, as the functions run inside the browser see it (this project compiles without the DOM lib). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const GAME = packServerId({ serverType: 1 });
const STUCK = packServerId({ serverType: 2 });
const CAPACITY = 50;
const ADMIN_KEY = 'dashboard-test-admin-key-0123456789';

let browser: Browser;
const cleanups: (() => Promise<unknown>)[] = [];
/** Each test's pages, closed after it: an open page is a viewer, and viewers are capped. */
let pages: { page: Page; errors: string[] }[] = [];

before(async () => {
  browser = await launchChromium();
  cleanups.push(() => browser.close());
});
afterEach(async () => {
  const closing = pages;
  pages = [];
  for (const { page } of closing) await page.close();
  for (const { errors } of closing) assert.deepEqual(errors, [], 'no script errors or CSP violations on the page');
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const dashboardUrl = (gateway: Gateway, fragment = '') => `http://127.0.0.1:${gateway.adminPort}/dashboard${fragment}`;

/** A page whose script errors and CSP violations fail the test: the page must work with its own policy. */
async function openDashboard(url: string): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => {
    // A refused key is a 401 the page expects; the browser logs it, and a missing favicon, as resource errors.
    const expected = /status of 401/.test(msg.text()) || /favicon/.test(msg.location().url ?? '');
    if (msg.type() === 'error' && !expected) errors.push(msg.text());
  });
  pages.push({ page, errors });
  await page.goto(url);
  return page;
}

const text = (page: Page, selector: string) => page.$eval(selector, (el) => el.textContent ?? '');
const waitForText = (page: Page, selector: string, want: string, timeout = 5000) =>
  page.waitForFunction((s, w) => document.querySelector(s)?.textContent === w, { timeout }, selector, want);
const endpointCell = (endpoint: string, worker: number, field: string) =>
  `tr[data-endpoint="${endpoint}"][data-worker="${worker}"] td[data-field="${field}"]`;

/** A keyless gateway with a healthy and a stallable backend. */
async function startOpenGateway(): Promise<{ gateway: Gateway; healthy: MockBackend; stalled: MockBackend }> {
  const healthy = await startMockBackend();
  const stalled = await startMockBackend();
  cleanups.push(() => healthy.close(), () => stalled.close());
  const gateway = await testGateway({
    routes: [
      { serverType: 1, endpoints: [healthy.endpoint] },
      { serverType: 2, endpoints: [stalled.endpoint] },
    ],
    // The circuit stays open once it opened, so the page cannot miss it between two frames.
    backend: {
      mailboxCapacity: CAPACITY,
      maxQueuedPerSession: CAPACITY,
      maxBatchPackets: 8,
      maxBatchBytes: 4096,
      writeStallMs: 300,
      circuitFailureThreshold: 2,
      circuitOpenMs: 60_000,
      failoverAfterMs: 600_000,
    },
    limits: { messagesPerSecond: 0, bytesPerSecond: 0 },
  });
  cleanups.push(() => gateway.close());
  await healthy.waitForStreams(2);
  await stalled.waitForStreams(2);
  return { gateway, healthy, stalled };
}

async function startKeyedGateway(): Promise<Gateway> {
  const backend = await startMockBackend();
  cleanups.push(() => backend.close());
  const gateway = await testGateway({
    routes: [{ serverType: 1, endpoints: [backend.endpoint] }],
    admin: { port: 0, apiKeys: [hashApiKey(ADMIN_KEY)] },
  });
  cleanups.push(() => gateway.close());
  return gateway;
}

// Started together: a gateway's start is most of this file's time.
const gateways = Promise.all([startOpenGateway(), startKeyedGateway()]);

describe('dashboard', () => {
  let healthy: MockBackend;
  let stalled: MockBackend;
  let gateway: Gateway;

  before(async () => {
    ({ gateway, healthy, stalled } = (await gateways)[0]);
  });

  test('the session count appears and follows clients connecting and leaving', async () => {
    const page = await openDashboard(dashboardUrl(gateway));
    await waitForText(page, '#status', 'live');
    assert.equal(await text(page, '#sessions'), '0');
    const workerRows = await page.$$eval('tr[data-worker]:not([data-endpoint])', (rows) => rows.length);
    assert.equal(workerRows, 2, 'one row per worker');

    const clients = await Promise.all(Array.from({ length: 3 }, () => connectClient(urlOf(gateway))));
    await waitForText(page, '#sessions', '3');
    const perWorker = await page.$$eval('#workers td[data-field="sessions"]', (tds) =>
      tds.map((td) => Number(td.textContent)),
    );
    assert.equal(perWorker.reduce((a, b) => a + b, 0), 3, 'the workers\' rows add up to the total');
    for (const client of clients.slice(1)) await client.close();
    await waitForText(page, '#sessions', '1');
    await clients[0]!.close();
    await waitForText(page, '#sessions', '0');
  });

  test('a stalled backend: the page shows its mailbox filling and its circuit open; healthy writes', async () => {
    const page = await openDashboard(dashboardUrl(gateway));
    await waitForText(page, '#status', 'live');
    stalled.stall();
    const stuck = await connectClient(urlOf(gateway));
    cleanups.push(() => stuck.close());
    const depthCell = endpointCell(stalled.endpoint, stuck.worker, 'mailbox-depth');
    const circuitCell = endpointCell(stalled.endpoint, stuck.worker, 'circuit');
    assert.equal(await text(page, circuitCell), 'closed');

    const payload = Buffer.alloc(1024, 1);
    let next = 0;
    const pump = setInterval(() => {
      for (let i = 0; i < 20; i++, next++) stuck.send(next, STUCK, payload);
      stuck.send(next, GAME, 'x');
    }, 5);
    const depths: number[] = [];
    try {
      await waitUntil(async () => {
        const depth = await page.$eval(depthCell, (td) => td.getAttribute('data-value'));
        depths.push(Number(depth));
        return (await text(page, circuitCell)) === 'open';
      }, 15_000, 'the page to show the circuit open');
      const writes = endpointCell(healthy.endpoint, stuck.worker, 'writes-per-sec');
      await page.waitForFunction((s) => Number(document.querySelector(s)?.textContent) > 0, { timeout: 5000 }, writes);
    } finally {
      clearInterval(pump);
    }
    const seen = [...new Set(depths)].join(', ');
    assert.ok(depths.some((d) => d > 0), `the page showed the mailbox filling (seen: ${seen})`);
    const peak = await text(page, endpointCell(stalled.endpoint, stuck.worker, 'mailbox-peak'));
    assert.equal(peak, String(CAPACITY), 'the peak reached the bound');
    const overloaded = await text(page, '[data-refusal="messages:backend_overloaded"] td[data-field="total"]');
    assert.notEqual(overloaded, '0', 'the refusals show');
    const other = 1 - stuck.worker;
    const otherCircuit = await text(page, endpointCell(stalled.endpoint, other, 'circuit'));
    assert.equal(otherCircuit, 'closed', 'the circuit is per worker');
    assert.equal(await text(page, endpointCell(stalled.endpoint, other, 'mailbox-depth')), '0');
    stalled.resume();
  });

  test(`at most ${defaultDashboardStreamOptions.maxViewers} viewers at once; the next gets 503`, async () => {
    const url = `http://127.0.0.1:${gateway.adminPort}/dashboard/events`;
    const streams = await Promise.all(Array.from({ length: defaultDashboardStreamOptions.maxViewers }, async () => {
      const abort = new AbortController();
      const res = await fetch(url, { signal: abort.signal });
      return { res, abort };
    }));
    try {
      assert.deepEqual(streams.map((s) => s.res.status), streams.map(() => 200));
      const refused = await fetch(url);
      assert.equal(refused.status, 503);
      assert.equal(((await refused.json()) as { name: string }).name, 'TOO_MANY_CONNECTIONS');
      streams.pop()!.abort.abort();
      await waitUntil(async () => {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
        void res?.body?.cancel();
        return res?.status === 200;
      }, 5000, 'a slot to free when a viewer leaves');
    } finally {
      for (const s of streams) s.abort.abort();
    }
  });
});

describe('dashboard with admin.apiKeys', () => {
  let gateway: Gateway;

  before(async () => {
    gateway = (await gateways)[1];
  });

  test('the page shell is served without a key; its stream is 401 without one', async () => {
    const shell = await fetch(dashboardUrl(gateway));
    assert.equal(shell.status, 200);
    assert.match(shell.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(shell.headers.get('content-security-policy') ?? '', /connect-src 'self'/);
    const events = `http://127.0.0.1:${gateway.adminPort}/dashboard/events`;
    const missing = await fetch(events);
    assert.equal(missing.status, 401);
    assert.equal(((await missing.json()) as { name: string }).name, 'API_KEY_REQUIRED');
    const wrong = await fetch(events, { headers: { 'x-api-key': 'not-the-key-not-the-key' } });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { name: string }).name, 'API_KEY_INVALID');
    const bearer = await fetch(events, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(bearer.status, 200);
    assert.match(bearer.headers.get('content-type') ?? '', /^text\/event-stream/);
    await bearer.body?.cancel();
  });

  test('without a key the page asks for one, and works once it is given', async () => {
    const page = await openDashboard(dashboardUrl(gateway));
    await waitForText(page, '#status', 'key needed');
    assert.equal(await page.$eval('#keyform', (f) => (f as unknown as { hidden: boolean }).hidden), false);
    await page.type('#key', ADMIN_KEY);
    await page.click('#keyform button');
    await waitForText(page, '#status', 'live');
    const client = await connectClient(urlOf(gateway));
    await waitForText(page, '#sessions', '1');
    await client.close();
    await waitForText(page, '#sessions', '0');
  });

  test('a key in the URL fragment is used and taken out of the address bar; a wrong one is refused', async () => {
    const page = await openDashboard(dashboardUrl(gateway, `#key=${encodeURIComponent(ADMIN_KEY)}`));
    await waitForText(page, '#status', 'live');
    assert.equal(new URL(page.url()).hash, '', 'the key left the address bar');
    const wrong = await openDashboard(dashboardUrl(gateway, '#key=wrong-wrong-wrong-wrong'));
    await waitForText(wrong, '#status', 'key refused');
  });
  // Last: the drain closes this gateway.
  test('during a drain the page shows it, and the sessions it has left going down', async () => {
    const clients = await Promise.all([0, 1, 2].map(() => connectClient(urlOf(gateway))));
    cleanups.push(() => Promise.all(clients.map((c) => c.close())));
    const page = await openDashboard(dashboardUrl(gateway, `#key=${ADMIN_KEY}`));
    await waitForText(page, '#sessions', '3');
    assert.equal(await text(page, '[data-value="drain"]'), 'not draining');
    // These clients ignore DRAIN: the gateway closes each at its time in the window.
    const drained = gateway.drain({ preDrainDelayMs: 0, windowMs: 3000, timeoutMs: 6000 });
    const drainText = (p: string) =>
      new RegExp(p).test(document.querySelector('[data-value="drain"]')?.textContent ?? '');
    const shows = (pattern: string) => page.waitForFunction(drainText, { timeout: 3000 }, pattern);
    await shows('^draining · [23] of 3 sessions left');
    assert.equal(await text(page, '#ready'), 'not ready');
    await shows('^draining · 1 of 3 sessions left · 2 closed by the gateway');
    await drained;
  });
});
