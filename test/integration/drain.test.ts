/**
 * The paced drain, seen from outside: the reconnect-after values clients receive, when the gateway closes those that
 * ignore DRAIN, /ready and the pre-drain delay, POST /admin/drain (with and without a key), and `actorgate drain`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, type ProtocolClient } from '../../src/testkit/index.ts';
import { Code } from '../../src/protocol/codes.ts';
import { generateApiKey, hashApiKey } from '../../src/core/api-keys.ts';
import { main } from '../../src/cli/main.ts';
import { scrapeMetrics, testGateway, urlOf, waitUntil } from './helpers.ts';

/** A client that ignores DRAIN: when it got it, what it said, and when and how the gateway closed it. */
interface Watched {
  client: ProtocolClient;
  drainAt?: number;
  reconnectAfterMs?: number;
  closedAt?: number;
  code?: number;
}

async function watchedClients(url: string, n: number): Promise<Watched[]> {
  const clients = await Promise.all(Array.from({ length: n }, () => connectClient(url)));
  return clients.map((client) => {
    const watched: Watched = { client };
    client.on('control', (control) => {
      if (control.type !== 'drain') return;
      watched.drainAt = performance.now();
      watched.reconnectAfterMs = control.reconnectAfterMs;
    });
    void client.closed.then((info) => {
      watched.closedAt = performance.now();
      watched.code = info.code;
    });
    return watched;
  });
}

function captureIo() {
  const out = { stdout: '', stderr: '' };
  const io = {
    stdout: { write: (text: string) => (out.stdout += text) },
    stderr: { write: (text: string) => (out.stderr += text) },
    signals: { on: () => {}, off: () => {} },
    exit: () => {},
  };
  return { out, io };
}

describe('paced drain', () => {
  test('60 clients, 2 workers: reconnect-afters even over the window, closes in waves at those times', async () => {
    const WINDOW = 1500;
    const gateway = await testGateway({ shutdown: { drainWindowMs: WINDOW } });
    const watched = await watchedClients(urlOf(gateway), 60);
    assert.ok(gateway.workers().every((w) => w.sessions > 0), 'both workers hold sessions');
    const started = performance.now();
    const drained = gateway.drain();
    await waitUntil(() => watched.every((w) => w.reconnectAfterMs !== undefined), 5000, 'every DRAIN');

    await new Promise((resolve) => setTimeout(resolve, WINDOW / 2));
    const mid = await scrapeMetrics(gateway);
    assert.equal(mid('actorgate_drain_state'), 2);
    const remaining = mid('actorgate_drain_sessions_remaining');
    assert.ok(remaining > 15 && remaining < 45, `about half the sessions remain mid-window (${remaining})`);
    assert.equal(mid('actorgate_drain_closes_total'), 60 - remaining);
    const progress = gateway.drainProgress();
    assert.equal(progress.sessionsAtStart, 60);
    assert.equal(progress.windowMs, WINDOW);

    await drained;
    const total = performance.now() - started;
    assert.ok(total < WINDOW + 1500, `the drain ends with its window (${Math.round(total)} ms)`);

    const values = watched.map((w) => w.reconnectAfterMs!).sort((a, b) => a - b);
    const step = WINDOW / 60;
    assert.ok(values[0]! <= 5, `the first is due at once (${values[0]})`);
    const last = values.at(-1)!;
    assert.ok(last >= WINDOW - 2 * step && last < WINDOW, `the last just under the window (${last})`);
    for (let i = 1; i < values.length; i++) {
      const gap = values[i]! - values[i - 1]!;
      assert.ok(gap >= step - 1 && gap <= step + 1, `even gaps of ~${step} ms: ${values[i - 1]} → ${values[i]}`);
    }
    // Clients that ignore DRAIN are closed with DRAINED at their own time, so the closes are spread like the values.
    for (const w of watched) {
      assert.equal(w.code, Code.DRAINED);
      const lateness = w.closedAt! - started - w.reconnectAfterMs!;
      const late = Math.round(lateness);
      assert.ok(lateness > 0 && lateness < 300, `closed at its time (${w.reconnectAfterMs} ms, ${late} ms late)`);
    }
    const closes = watched.map((w) => w.closedAt! - started).sort((a, b) => a - b);
    assert.ok(closes.at(-1)! - closes[0]! > WINDOW * 0.8, 'closes spread over the window, not all at once');
  });

  test('window 0 is the old drain: one reconnect-after for all, the rest closed at the timeout', async () => {
    const gateway = await testGateway({ shutdown: { drainWindowMs: 0, drainTimeoutMs: 400 } });
    const watched = await watchedClients(urlOf(gateway), 6);
    await gateway.drain({ reconnectAfterMs: 250 });
    assert.deepEqual(new Set(watched.map((w) => w.reconnectAfterMs)), new Set([250]));
    const closes = watched.map((w) => w.closedAt!);
    assert.ok(Math.max(...closes) - Math.min(...closes) < 100, 'closed together at the deadline');
    assert.ok(watched.every((w) => w.code === Code.DRAINED));
  });

  test('/ready is 503 at once; during preDrainDelayMs connections are accepted and no DRAIN goes out', async () => {
    const gateway = await testGateway({ shutdown: { preDrainDelayMs: 700, drainWindowMs: 200 } });
    const ready = `http://127.0.0.1:${gateway.adminPort}/ready`;
    assert.equal((await fetch(ready)).status, 200);
    const [early] = await watchedClients(urlOf(gateway), 1);
    const calledAt = performance.now();
    const drained = gateway.drain();
    assert.equal((await fetch(ready)).status, 503);
    assert.equal(gateway.drainProgress().state, 'pre-drain');
    const [late] = await watchedClients(urlOf(gateway), 1);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(early!.reconnectAfterMs, undefined, 'no DRAIN during the pre-drain delay');
    assert.equal(late!.client.isOpen, true);
    await early!.client.waitForControl('drain', 3000);
    const after = Math.round(early!.drainAt! - calledAt);
    assert.ok(after >= 690, `DRAIN after the delay (${after} ms)`);
    await late!.client.waitForControl('drain', 3000);
    await drained;
    assert.equal(early!.code, Code.DRAINED);
  });
});

describe('POST /admin/drain and actorgate drain', () => {
  test('needs the admin key when admin.apiKeys is set; starts the drain once; GET reports its progress', async () => {
    const key = generateApiKey();
    const admin = { port: 0, apiKeys: [hashApiKey(key)] };
    const gateway = await testGateway({ admin, shutdown: { drainWindowMs: 5000 } });
    const url = `http://127.0.0.1:${gateway.adminPort}/admin/drain`;
    const watched = await watchedClients(urlOf(gateway), 4);
    const anonymous = await fetch(url, { method: 'POST' });
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { code: number }).code, Code.API_KEY_REQUIRED);
    assert.equal((await fetch(url, { headers: { 'x-api-key': 'not-the-key-at-all' } })).status, 401);
    assert.equal(gateway.drainProgress().state, 'none', 'a refused request starts nothing');
    const bad = await fetch(url, { method: 'POST', headers: { 'x-api-key': key }, body: '{"windowMs":-1}' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /windowMs must be an integer/);

    const post = await fetch(url, { method: 'POST', headers: { 'x-api-key': key }, body: '{"windowMs":600}' });
    assert.equal(post.status, 202);
    const body = (await post.json()) as { started: boolean; drain: { state: string; windowMs: number } };
    assert.equal(body.started, true);
    assert.equal(body.drain.windowMs, 600, 'the body overrides shutdown.drainWindowMs');
    const repeated = await fetch(`${url}?windowMs=9000`, { method: 'POST', headers: { 'x-api-key': key } });
    const again = (await repeated.json()) as typeof body;
    assert.equal(again.started, false, 'idempotent');
    assert.equal(again.drain.windowMs, 600);
    const read = await fetch(url, { headers: { 'x-api-key': key } });
    const progress = (await read.json()) as { state: string; sessionsAtStart: number };
    assert.equal(progress.state, 'draining');
    assert.equal(progress.sessionsAtStart, 4);
    await gateway.closed;
    assert.ok(watched.every((w) => w.code === Code.DRAINED && w.reconnectAfterMs! < 600));
  });

  test('actorgate drain posts, follows the drain to its end and exits 0; a refusal exits 1 saying why', async () => {
    const key = generateApiKey();
    const keyed = { port: 0, apiKeys: [hashApiKey(key)] };
    const gateway = await testGateway({ admin: keyed, shutdown: { drainWindowMs: 300 } });
    const admin = `http://127.0.0.1:${gateway.adminPort}`;
    const watched = await watchedClients(urlOf(gateway), 3);

    const refused = captureIo();
    assert.equal(await main(['drain', '--admin', admin], {}, refused.io), 1);
    assert.match(refused.out.stderr, /HTTP 401 4521 API_KEY_REQUIRED.*set ACTORGATE_ADMIN_KEY/);
    assert.equal(gateway.drainProgress().state, 'none');

    const run = captureIo();
    assert.equal(await main(['drain', '--admin', admin], { ACTORGATE_ADMIN_KEY: key }, run.io), 0);
    assert.match(run.out.stdout, /drain started: reconnects over 300 ms/);
    assert.match(run.out.stdout, /drained/);
    await gateway.closed;
    assert.ok(watched.every((w) => w.code === Code.DRAINED));

    const gone = captureIo();
    assert.equal(await main(['drain', '--admin', admin], {}, gone.io), 1);
    assert.match(gone.out.stderr, /cannot reach/);
  });
});
