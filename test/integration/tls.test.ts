/**
 * TLS on all three ports (listen.tls, admin.tls, push.tls) with certificates made at test time, every client
 * verifying the server's certificate; reloads swap the certificate for new handshakes while established
 * connections stay.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { connectClient, packServerId, type ProtocolClient } from '../../src/testkit/index.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { actorgateV1 } from '../../src/backend/proto.ts';
import type { PushInput } from '../../src/push/push-item.ts';
import type { Gateway } from '../../src/gateway.ts';
import { testGateway } from './helpers.ts';
import { CertDir, type TestCa } from '../fixtures/tls-certs.ts';

const PUSHED = packServerId({ serverType: 9 });

/** The certificate a fresh TLS handshake on `port` is given, verified against `ca`. */
function peerCertificate(port: number, ca: Buffer): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.once('error', reject);
  });
}

function httpsGet(port: number, path: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.once('error', reject).end();
  });
}

interface RawPushClient extends grpc.Client {
  Push(batch: unknown, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, summary: Record<string, string>) => void): void;
}

/** One Push call on a new channel that verifies the server against `ca`. */
async function pushOverTls(port: number, ca: Buffer, pushes: PushInput[], client?: { key: Buffer; cert: Buffer }): Promise<number> {
  const Client = actorgateV1().GatewayPush;
  // Verified as "localhost" (also in the certificate): grpc-js would otherwise send the IP address as the TLS server
  // name, which RFC 6066 forbids and Node warns about.
  const credentials = grpc.credentials.createSsl(ca, client?.key, client?.cert);
  const raw = new Client(`127.0.0.1:${port}`, credentials, { 'grpc.ssl_target_name_override': 'localhost' }) as unknown as RawPushClient;
  try {
    const summary = await new Promise<Record<string, string>>((resolve, reject) => {
      raw.Push({ pushes }, { deadline: Date.now() + 3000 }, (err, s) => (err ? reject(err) : resolve(s)));
    });
    return Number(summary.delivered);
  } finally {
    raw.close();
  }
}

async function heartbeatEchoes(client: ProtocolClient): Promise<void> {
  client.heartbeat(Buffer.from('still here'));
  await client.waitForControl('heartbeat', 3000);
}

async function tlsReloads(gateway: Gateway, ca: Buffer): Promise<Record<string, number>> {
  const { body } = await httpsGet(gateway.adminPort!, '/metrics', ca);
  const counts: Record<string, number> = {};
  for (const match of body.matchAll(/^actorgate_tls_reloads_total\{server="(\w+)",outcome="(\w+)"\} (\d+)$/gm)) counts[`${match[1]}:${match[2]}`] = Number(match[3]);
  return counts;
}

describe('TLS', () => {
  let certs: CertDir;
  let caOne: TestCa;
  let caTwo: TestCa;
  let live: { certFile: string; keyFile: string };
  let gateway: Gateway;

  before(async () => {
    certs = new CertDir();
    caOne = certs.ca('ca-one');
    caTwo = certs.ca('ca-two');
    live = { certFile: join(certs.dir, 'live.pem'), keyFile: join(certs.dir, 'live.key') };
    certs.install(certs.server(caOne, 'gateway-one'), live);
    const tls = { cert: live.certFile, key: live.keyFile };
    gateway = await testGateway({ listen: { host: '127.0.0.1', port: 0, tls }, admin: { port: 0, tls }, push: { port: 0, tls }, topics: { allow: ['room.*'] } });
  });

  after(async () => {
    await gateway?.close();
    certs?.remove();
  });

  test('wss://, https:// and gRPC over TLS serve the certificate; a reload swaps it for new handshakes, established sessions keep going', async () => {
    const old = await connectClient(`wss://127.0.0.1:${gateway.port}/`, { ca: caOne.pem });
    await heartbeatEchoes(old);
    old.subscribe('room.1');
    assert.equal((await old.waitForControl('subscribe-result')).code, 0);
    assert.equal((await httpsGet(gateway.adminPort!, '/health', caOne.pem)).status, 200);
    assert.equal(await pushOverTls(gateway.pushPort!, caOne.pem, [{ sessionId: old.sessionId, msgId: 1, serverId: PUSHED, payload: Buffer.from('one') }]), 1);
    assert.equal((await old.nextFrame()).payload.toString(), 'one');
    assert.equal((await peerCertificate(gateway.port, caOne.pem)).subject.CN, 'gateway-one');

    // Rotate: a certificate from another CA over the same files, then reload.
    certs.install(certs.server(caTwo, 'gateway-two'), live);
    assert.deepEqual((await gateway.reloadTls()).reloaded, ['listen', 'admin', 'push']);

    // New handshakes on every port see the new certificate (several, so both workers' listeners are asked).
    for (let i = 0; i < 6; i++) assert.equal((await peerCertificate(gateway.port, caTwo.pem)).subject.CN, 'gateway-two');
    assert.equal((await peerCertificate(gateway.adminPort!, caTwo.pem)).subject.CN, 'gateway-two');
    assert.equal((await peerCertificate(gateway.pushPort!, caTwo.pem)).subject.CN, 'gateway-two');
    await assert.rejects(peerCertificate(gateway.port, caOne.pem), /certificate/);
    await assert.rejects(httpsGet(gateway.adminPort!, '/health', caOne.pem), /certificate/);

    // The session opened before the reload keeps echoing, gets pushes, and topic pushes reach it and a new one.
    await heartbeatEchoes(old);
    const fresh = await connectClient(`wss://127.0.0.1:${gateway.port}/`, { ca: caTwo.pem });
    fresh.subscribe('room.1');
    assert.equal((await fresh.waitForControl('subscribe-result')).code, 0);
    assert.equal(await pushOverTls(gateway.pushPort!, caTwo.pem, [{ topic: 'room.1', msgId: 2, serverId: PUSHED, payload: Buffer.from('both') }]), 2);
    for (const client of [old, fresh]) assert.equal((await client.nextFrame()).payload.toString(), 'both');
    assert.equal((await httpsGet(gateway.adminPort!, '/health', caTwo.pem)).status, 200);
    const counts = await tlsReloads(gateway, caTwo.pem);
    for (const server of ['listen', 'admin', 'push']) assert.equal(counts[`${server}:ok`], 1, server);
    await Promise.all([old.close(), fresh.close()]);
  });

  test('a reload with files that do not load keeps the old certificate, names the field and counts the error', async () => {
    const before = await tlsReloads(gateway, caTwo.pem);
    const good = await peerCertificate(gateway.port, caTwo.pem);
    const session = await connectClient(`wss://127.0.0.1:${gateway.port}/`, { ca: caTwo.pem });
    // A key of another certificate: a pair that does not fit.
    const stranger = certs.server(caOne, 'stranger');
    writeFileSync(live.keyFile, readFileSync(stranger.keyFile));
    await assert.rejects(gateway.reloadTls(), (err: unknown) => err instanceof ConfigError && err.field === 'listen.tls.key');
    assert.equal((await peerCertificate(gateway.port, caTwo.pem)).serialNumber, good.serialNumber);
    assert.equal((await peerCertificate(gateway.adminPort!, caTwo.pem)).serialNumber, good.serialNumber);
    await heartbeatEchoes(session);
    const after = await tlsReloads(gateway, caTwo.pem);
    for (const server of ['listen', 'admin', 'push']) assert.equal(after[`${server}:error`], (before[`${server}:error`] ?? 0) + 1, server);
    // Put a good pair back: the next reload works again.
    certs.install(certs.server(caTwo, 'gateway-three'), live);
    await gateway.reloadTls();
    assert.equal((await peerCertificate(gateway.port, caTwo.pem)).subject.CN, 'gateway-three');
    await heartbeatEchoes(session);
    await session.close();
  });

  test('plain ws:// to the TLS port fails', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/`, ['actorgate.v1']);
    const outcome = await new Promise<string>((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('error', (err) => resolve(`error: ${err.message}`));
    });
    ws.terminate();
    assert.match(outcome, /^error/);
  });
});

describe('TLS with a ca: client certificates (mutual TLS)', () => {
  let certs: CertDir;
  let clientCa: TestCa;
  let gateway: Gateway;
  let serverCa: TestCa;

  before(async () => {
    certs = new CertDir();
    serverCa = certs.ca('server-ca');
    clientCa = certs.ca('client-ca');
    const server = certs.server(serverCa, 'mutual');
    const tls = { cert: server.certFile, key: server.keyFile, ca: clientCa.certFile };
    gateway = await testGateway({ workers: 1, listen: { host: '127.0.0.1', port: 0, tls }, admin: { port: 0, tls }, push: { port: 0, tls } });
  });

  after(async () => {
    await gateway?.close();
    certs?.remove();
  });

  const credentials = (cert?: { certFile: string; keyFile: string }) => (cert === undefined ? {} : { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) });

  function health(cert?: { certFile: string; keyFile: string }): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: gateway.adminPort!, path: '/health', ca: serverCa.pem, agent: false, ...credentials(cert) }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.once('error', reject).end();
    });
  }

  function upgrade(cert?: { certFile: string; keyFile: string }): Promise<string> {
    const ws = new WebSocket(`wss://127.0.0.1:${gateway.port}/`, ['actorgate.v1'], { ca: serverCa.pem, ...credentials(cert) });
    return new Promise<string>((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('error', (err) => resolve(`error: ${err.message}`));
    }).finally(() => ws.terminate());
  }

  test('the admin and push ports want a certificate the ca signed; the WebSocket port refuses a wrong one', async () => {
    const signed = certs.server(clientCa, 'ops');
    const stranger = certs.server(serverCa, 'stranger');
    assert.equal(await health(signed), 200);
    await assert.rejects(health(), 'no client certificate');
    await assert.rejects(health(stranger), 'a certificate of another CA');
    assert.equal(await upgrade(signed), 'open');
    assert.match(await upgrade(stranger), /^error/);
    assert.equal(await upgrade(), 'open', 'uWS accepts a client that sends no certificate');
    const none: PushInput[] = [{ topic: 'nobody', msgId: 1, serverId: PUSHED, payload: Buffer.from('x') }];
    assert.equal(await pushOverTls(gateway.pushPort!, serverCa.pem, none, { key: readFileSync(signed.keyFile), cert: readFileSync(signed.certFile) }), 0);
    await assert.rejects(pushOverTls(gateway.pushPort!, serverCa.pem, none), { code: grpc.status.UNAVAILABLE });
  });
});
