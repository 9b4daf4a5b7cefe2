/**
 * Connection limits and upgrade rates that span the process's workers (docs/PROTOCOL.md §1): per client address
 * (429), for the whole process (503), and the client address behind a trusted proxy (`listen.trustProxy`:
 * X-Forwarded-For, PROXY protocol v2). Distinct client addresses come from X-Forwarded-For through a trusted 127.0.0.1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Gateway } from '../../src/gateway.ts';
import { Code, PacketKind, connectClient, encodeFrame, packServerId, startMockBackend, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import { attempt } from './upgrade-attempt.ts';
import { upgradeHead } from './raw-request.ts';
import { metric, testGateway, urlOf, waitUntil } from './helpers.ts';

const GAME = packServerId({ serverType: 1 });

let backend: MockBackend;
const gateways: Gateway[] = [];
const clients: ProtocolClient[] = [];

before(async () => {
  backend = await startMockBackend();
});

after(async () => {
  for (const client of clients) await client.close();
  for (const gateway of gateways) await gateway.close();
  await backend.close();
});

async function gatewayWith(options: Parameters<typeof testGateway>[0]): Promise<Gateway> {
  const gateway = await testGateway({ routes: [{ serverType: 1, endpoints: [backend.endpoint] }], ...options });
  gateways.push(gateway);
  return gateway;
}

async function clientFrom(gateway: Gateway, forwardedFor: string): Promise<ProtocolClient> {
  const client = await connectClient(urlOf(gateway), { headers: { 'X-Forwarded-For': forwardedFor } });
  clients.push(client);
  return client;
}

/** The remote address the backend's OPEN carried for `client`'s session, after one message. */
async function openedFrom(client: ProtocolClient): Promise<string> {
  client.send(1, GAME, 'hello');
  await client.nextFrame();
  return (await backend.waitFor((p) => p.kind === PacketKind.OPEN && p.sessionId === client.sessionId)).remoteAddress;
}

/** A raw connection that sends a PROXY protocol v2 header naming `source` as the client, then upgrades. */
function proxiedSession(port: number, source: [number, number, number, number]): Promise<Socket> {
  const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  // v2 PROXY, TCP over IPv4, 12 address bytes: source, destination, source port, destination port.
  const header = Buffer.concat([signature, Buffer.from([0x21, 0x11, 0x00, 12, ...source, 127, 0, 0, 1, 0x9c, 0x40, 0x1b, 0x58])]);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.concat([header, upgradeHead('/proxied')])));
    socket.once('data', (data) => (data.toString('latin1').startsWith('HTTP/1.1 101') ? resolve(socket) : reject(new Error(data.toString('latin1').split('\r\n')[0]))));
    socket.once('error', reject);
  });
}

/** A masked binary WebSocket frame carrying one protocol frame (client → gateway frames must be masked). */
function maskedFrame(payload: Uint8Array): Buffer {
  const mask = randomBytes(4);
  const body = Buffer.from(payload).map((byte, i) => byte ^ mask[i % 4]!);
  return Buffer.concat([Buffer.from([0x82, 0x80 | payload.length]), mask, body]);
}

describe('per client address, across workers', () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await gatewayWith({ listen: { host: '127.0.0.1', port: 0, trustProxy: ['127.0.0.1'] }, limits: { maxConnectionsPerIp: 3 } });
  });

  test('the connection past limits.maxConnectionsPerIp gets 429 TOO_MANY_CONNECTIONS_PER_IP; other addresses are not affected; a close frees its place', async () => {
    // Three sessions of one address, spread over both workers: the count is the process's, not a worker's.
    let held: ProtocolClient[] = [];
    for (let round = 0; round < 10 && new Set(held.map((c) => c.worker)).size < 2; round++) {
      for (const client of held) await client.close();
      await waitUntil(async () => (await attempt(gateway.port, '/', { 'X-Forwarded-For': '192.0.2.10' })).status === 101, 5000, 'the places to free');
      held = [];
      for (let i = 0; i < 3; i++) held.push(await clientFrom(gateway, '192.0.2.10'));
    }
    assert.equal(new Set(held.map((c) => c.worker)).size, 2, 'sessions on both workers');
    const refused = await attempt(gateway.port, '/', { 'X-Forwarded-For': '192.0.2.10' });
    assert.equal(refused.status, 429);
    assert.deepEqual(refused.body, { code: Code.TOO_MANY_CONNECTIONS_PER_IP, name: 'TOO_MANY_CONNECTIONS_PER_IP', reason: refused.body.reason });
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal((await attempt(gateway.port, '/', { 'X-Forwarded-For': '192.0.2.11' })).status, 101, 'another address');
    await held[0]!.close();
    await waitUntil(async () => (await attempt(gateway.port, '/', { 'X-Forwarded-For': '192.0.2.10' })).status === 101, 5000, 'the freed place');
    assert.ok((await metric(gateway, 'actorgate_upgrade_refusals_total', { reason: 'ip_connections' })) >= 1);
  });

  test('behind a trusted proxy, OPEN.remote_address is the nearest untrusted X-Forwarded-For hop, or the PROXY v2 source', async () => {
    const forwarded = await clientFrom(gateway, '198.51.100.1, 192.0.2.44');
    assert.equal(await openedFrom(forwarded), '192.0.2.44', 'what the trusted hop appended, not what the client prepended');
    const proxied = await proxiedSession(gateway.port, [203, 0, 113, 7]);
    try {
      proxied.write(maskedFrame(encodeFrame(1, GAME, Buffer.from('via proxy'))));
      const open = await backend.waitFor((p) => p.kind === PacketKind.OPEN && p.path === '/proxied');
      assert.equal(open.remoteAddress, '203.0.113.7');
    } finally {
      proxied.destroy();
    }
  });
});

describe('on a dual-stack listener (listen.host "::")', () => {
  /** A raw upgrade from `localAddress` to the gateway's IPv4 loopback: its status, and the socket while it is open. */
  function upgradeFrom(port: number, localAddress: string): Promise<{ status: number; socket: Socket }> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', localAddress }, () => socket.write(upgradeHead('/')));
      socket.once('data', (data) => resolve({ status: Number(data.toString('latin1').split(' ')[1]), socket }));
      socket.once('error', reject);
    });
  }

  test('IPv4 clients count under their own address, not under one shared IPv6 key, and OPEN carries the dotted address', async () => {
    const gateway = await gatewayWith({ listen: { host: '::', port: 0 }, limits: { maxConnectionsPerIp: 1 } });
    const first = await upgradeFrom(gateway.port, '127.0.0.1');
    const other = await upgradeFrom(gateway.port, '127.0.0.2');
    const second = await upgradeFrom(gateway.port, '127.0.0.1');
    try {
      assert.equal(first.status, 101);
      assert.equal(other.status, 101, 'another IPv4 address has its own budget');
      assert.equal(second.status, 429, 'the same address is at its limit');
    } finally {
      for (const { socket } of [first, other, second]) socket.destroy();
    }
    // The address's one connection is free again only once the gateway has seen its socket close.
    await waitUntil(() => gateway.sessions === 0, 5000, 'the raw upgrades closed');
    const client = await connectClient(`ws://127.0.0.1:${gateway.port}/`);
    clients.push(client);
    assert.equal(await openedFrom(client), '127.0.0.1');
  });
});

describe('upgrade rates', () => {
  test('past its burst an address gets 429 TOO_MANY_UPGRADES_PER_IP while others pass; past the process\'s burst, 503 TOO_MANY_UPGRADES', async () => {
    const gateway = await gatewayWith({
      listen: { host: '127.0.0.1', port: 0, trustProxy: ['127.0.0.1'] },
      limits: { maxConnectionsPerIp: 0, upgradesPerSecondPerIp: 1, upgradeBurstPerIp: 3, upgradesPerSecond: 1, upgradeBurst: 6 },
    });
    const from = (address: string) => attempt(gateway.port, '/', { 'X-Forwarded-For': address });
    for (let i = 0; i < 3; i++) assert.equal((await from('192.0.2.20')).status, 101);
    const limited = await from('192.0.2.20');
    assert.deepEqual([limited.status, limited.body.code], [429, Code.TOO_MANY_UPGRADES_PER_IP]);
    // The refused upgrade took nothing from the process's bucket: three more from another address fill it.
    for (let i = 0; i < 3; i++) assert.equal((await from('192.0.2.21')).status, 101);
    const busy = await from('192.0.2.22');
    assert.deepEqual([busy.status, busy.body.code, busy.headers['retry-after']], [503, Code.TOO_MANY_UPGRADES, '1']);
    assert.equal(await metric(gateway, 'actorgate_upgrade_refusals_total', { reason: 'ip_upgrade_rate' }), 1);
    assert.equal(await metric(gateway, 'actorgate_upgrade_refusals_total', { reason: 'upgrade_rate' }), 1);
  });
});

describe('the worker and the process', () => {
  test('past limits.maxConnectionsPerWorker: 503 TOO_MANY_CONNECTIONS with its JSON body, counted as worker_connections', async () => {
    const gateway = await gatewayWith({ workers: 1, limits: { maxConnectionsPerWorker: 2 } });
    await clientFrom(gateway, '192.0.2.40');
    await clientFrom(gateway, '192.0.2.41');
    const refused = await attempt(gateway.port, '/');
    assert.deepEqual([refused.status, refused.body.code, refused.body.name], [503, Code.TOO_MANY_CONNECTIONS, 'TOO_MANY_CONNECTIONS']);
    assert.equal(await metric(gateway, 'actorgate_upgrade_refusals_total', { reason: 'worker_connections' }), 1);
  });

  test('past limits.maxConnections across both workers: 503 TOO_MANY_CONNECTIONS; an untrusted X-Forwarded-For changes nothing', async () => {
    const gateway = await gatewayWith({ limits: { maxConnections: 3 } });
    const held = [await clientFrom(gateway, '192.0.2.30'), await clientFrom(gateway, '192.0.2.31'), await clientFrom(gateway, '192.0.2.32')];
    assert.equal(await openedFrom(held[0]!), '127.0.0.1', 'no trusted proxy: the TCP peer');
    const refused = await attempt(gateway.port, '/');
    assert.deepEqual([refused.status, refused.body.code], [503, Code.TOO_MANY_CONNECTIONS]);
    await held[1]!.close();
    await waitUntil(async () => (await attempt(gateway.port, '/')).status === 101, 5000, 'the freed place');
    assert.ok((await metric(gateway, 'actorgate_upgrade_refusals_total', { reason: 'connections' })) >= 1);
  });
});
