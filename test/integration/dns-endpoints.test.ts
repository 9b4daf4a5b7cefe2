/**
 * Endpoint sets from DNS: a rule endpoint `dns:///name:port` follows the name's answer. The answer comes from a stub
 * DNS server the test runs (node:dgram, `control.dnsServers`), never the network; the backends listen on 127.0.0.1
 * and 127.0.0.2 with one port, as the pods of a headless Service would.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { Code, connectClient, packServerId, startMockBackend, waitUntil, type MockBackend, type ProtocolClient } from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/gateway.ts';
import { metric, testGateway, urlOf } from './helpers.ts';

/** Answers A queries for one name with `addresses` (no AAAA, NXDOMAIN for other names). */
class StubDns {
  addresses: string[] = [];
  queries = 0;
  readonly socket: Socket = createSocket('udp4');
  readonly #name: string;

  constructor(name: string) {
    this.#name = name.toLowerCase();
    this.socket.on('message', (query, peer) => {
      this.queries++;
      const answer = this.#answer(query);
      if (answer !== undefined) this.socket.send(answer, peer.port, peer.address);
    });
  }

  async listen(): Promise<string> {
    this.socket.bind(0, '127.0.0.1');
    await once(this.socket, 'listening');
    return `127.0.0.1:${this.socket.address().port}`;
  }

  #answer(query: Buffer): Buffer | undefined {
    if (query.length < 12) return undefined;
    let offset = 12;
    const labels: string[] = [];
    while (offset < query.length && query[offset] !== 0) {
      const length = query[offset]!;
      labels.push(query.subarray(offset + 1, offset + 1 + length).toString('ascii'));
      offset += 1 + length;
    }
    const questionEnd = offset + 5; // the root label, QTYPE, QCLASS
    if (questionEnd > query.length) return undefined;
    const type = query.readUInt16BE(offset + 1);
    const known = labels.join('.').toLowerCase() === this.#name;
    const answers = known && type === 1 ? this.addresses : [];
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(known ? 0x8180 : 0x8183, 2); // response, recursion available; NXDOMAIN for other names
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const records = answers.map((address) => {
      const record = Buffer.alloc(16);
      record.writeUInt16BE(0xc00c, 0); // the question's name
      record.writeUInt16BE(1, 2); // A
      record.writeUInt16BE(1, 4); // IN
      record.writeUInt32BE(0, 6); // TTL
      record.writeUInt16BE(4, 10);
      address.split('.').forEach((octet, i) => record.writeUInt8(Number(octet), 12 + i));
      return record;
    });
    return Buffer.concat([header, query.subarray(12, questionEnd), ...records]);
  }

  close(): void {
    this.socket.close();
  }
}

const payloadsOf = (backend: MockBackend, client: ProtocolClient) => backend.payloadsOf(client.sessionId).map((b) => b.toString());

describe('dns:/// endpoints', () => {
  let dns: StubDns;
  let one: MockBackend;
  let two: MockBackend;
  let gateway: Gateway;

  before(async () => {
    dns = new StubDns('backends.test');
    const server = await dns.listen();
    one = await startMockBackend({ host: '127.0.0.1' });
    two = await startMockBackend({ host: '127.0.0.2', port: one.port });
    dns.addresses = ['127.0.0.1'];
    gateway = await testGateway({
      routes: [{ serverType: 1, endpoints: [`dns:///backends.test:${one.port}`] }],
      control: { dnsServers: [server], dnsRefreshMs: 100 },
    });
  });
  after(async () => {
    await gateway.close();
    await Promise.all([one.close(), two.close()]);
    dns.close();
  });

  test('every address of the name is an endpoint; the set follows a changed answer, releasing sessions of an address that left', async () => {
    const first = await connectClient(urlOf(gateway));
    first.send(1, packServerId({ serverType: 1 }), 'one');
    await waitUntil(() => payloadsOf(one, first).includes('one'), 5000, 'the first answer routed');

    // A second pod appears: new sessions spread over both; the bound one stays (sticky).
    dns.addresses = ['127.0.0.1', '127.0.0.2'];
    await waitUntil(() => two.streams >= gateway.config.workers, 5000, 'streams to the new address from every worker');
    const clients = await Promise.all(Array.from({ length: 8 }, () => connectClient(urlOf(gateway))));
    for (const client of clients) client.send(1, packServerId({ serverType: 1 }), 'spread');
    await Promise.all(clients.map((c) => waitUntil(() => payloadsOf(one, c).length + payloadsOf(two, c).length === 1, 5000, 'routed')));
    assert.ok(clients.some((c) => payloadsOf(two, c).length === 1), 'some sessions on the new address');
    first.send(2, packServerId({ serverType: 1 }), 'sticky');
    await waitUntil(() => payloadsOf(one, first).includes('sticky'), 5000, 'the bound session stays');

    // The first pod goes away: its sessions are released and rebind to the one left.
    dns.addresses = ['127.0.0.2'];
    assert.equal((await first.waitForControl('error')).code, Code.BACKEND_FAILOVER);
    first.send(3, packServerId({ serverType: 1 }), 'moved');
    await waitUntil(() => payloadsOf(two, first).includes('moved'), 5000, 'rebound to the address left');
    await waitUntil(() => one.streams === 0, 5000, "the removed address's streams to close");
    assert.equal(first.closeInfo, undefined, 'still connected');
    // Metrics follow the set: the address that left has no series, the one that came has.
    assert.equal(await metric(gateway, 'actorgate_backend_packets_sent_total', { endpoint: `127.0.0.1:${one.port}` }), 0);
    assert.ok((await metric(gateway, 'actorgate_backend_packets_sent_total', { endpoint: `127.0.0.2:${one.port}` })) > 0);
    await Promise.all([first, ...clients].map((c) => c.close()));
  });

  test('a name with no address leaves its rule without endpoints: BACKEND_UNAVAILABLE, not a crash', async () => {
    dns.addresses = [];
    await waitUntil(() => two.streams === 0, 5000, 'no endpoint left');
    const client = await connectClient(urlOf(gateway));
    client.send(1, packServerId({ serverType: 1 }), 'nowhere');
    assert.equal((await client.waitForControl('error')).code, Code.BACKEND_UNAVAILABLE);
    dns.addresses = ['127.0.0.1'];
    await waitUntil(() => one.streams >= gateway.config.workers, 5000, 'the address back');
    client.send(2, packServerId({ serverType: 1 }), 'back');
    await waitUntil(() => payloadsOf(one, client).includes('back'), 5000, 'routed again');
    await client.close();
  });
});
