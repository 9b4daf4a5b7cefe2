/**
 * The client transport's TLS reload in-process: a real uWS SSLApp, real wss clients verifying its certificate. A
 * reload moves new handshakes to a new app while connections stay on the old one, which is closed once it is empty.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import WebSocket from 'ws';
import type uWS from 'uWebSockets.js';
import { createAdmissionBuffer } from '../../../src/core/admission-memory.ts';
import { createCounterBuffer, WorkerCounters } from '../../../src/core/counters.ts';
import { resolveConfig } from '../../../src/core/options.ts';
import { ClientTransport, type ClientHandler } from '../../../src/worker/client-transport.ts';
import type { SocketData } from '../../../src/worker/session.ts';
import { UpgradeGuard } from '../../../src/worker/upgrade-guard.ts';
import { waitUntil } from '../../../src/testkit/wait.ts';
import { CertDir } from '../../fixtures/tls-certs.ts';

/** Echoes every message; counts closes. */
function echoHandler(): ClientHandler & { closes: number } {
  return {
    closes: 0,
    admits: () => true,
    accepting: () => true,
    onOpen() {},
    onMessage: (ws: uWS.WebSocket<SocketData>, message: ArrayBuffer) => void ws.send(message, true),
    onClose() {
      this.closes++;
    },
    onAlive() {},
    onDrain() {},
    onRefused() {},
  };
}

async function open(port: number, ca: Buffer): Promise<WebSocket> {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/`, ['actorgate.v1'], { ca });
  await once(ws, 'open');
  return ws;
}

async function echoes(ws: WebSocket, text: string): Promise<void> {
  ws.send(Buffer.from(text));
  const [data] = (await once(ws, 'message')) as [Buffer];
  assert.equal(data.toString(), text);
}

describe('ClientTransport TLS reload', () => {
  it('serves new handshakes from a new app; old connections stay until they leave, then their app is closed', async (t) => {
    const certs = new CertDir();
    t.after(() => certs.remove());
    const [caOne, caTwo] = [certs.ca('one'), certs.ca('two')];
    const live = { certFile: join(certs.dir, 'live.pem'), keyFile: join(certs.dir, 'live.key') };
    certs.install(certs.server(caOne, 'first'), live);
    const config = resolveConfig({ listen: { host: '127.0.0.1', port: 0, tls: { cert: live.certFile, key: live.keyFile } } });
    const guard = new UpgradeGuard(config, createAdmissionBuffer(1), 0, new WorkerCounters(createCounterBuffer(0)).worker);
    const handler = echoHandler();
    const transport = new ClientTransport(config.limits, handler, guard, undefined, config.listen.tls);
    t.after(() => {
      transport.close();
      guard.stop();
    });
    const port = transport.listen('127.0.0.1', 0);

    const first = await open(port, caOne.pem);
    await echoes(first, 'before');
    certs.install(certs.server(caTwo, 'second'), live);
    assert.equal(transport.reloadTls(config.listen.tls!), true);
    assert.equal(transport.retiredApps, 1);
    const second = await open(port, caTwo.pem);
    await echoes(second, 'new app');
    await echoes(first, 'old app, still open');

    first.close();
    await waitUntil(() => handler.closes === 1, 3000, 'the first client gone');
    assert.equal(transport.reloadTls(config.listen.tls!), true);
    assert.equal(transport.retiredApps, 1, 'the empty app closed, the second one retired');
    await echoes(second, 'on a retired app');
    await echoes(await open(port, caTwo.pem), 'third app');

    transport.stopListening();
    assert.equal(transport.reloadTls(config.listen.tls!), false, 'not while listening is stopped');
    transport.close();
    await waitUntil(() => second.readyState === WebSocket.CLOSED, 3000, 'close() ends connections on every app');
  });
});
