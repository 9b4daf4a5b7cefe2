/**
 * The upgrade request's own bounds (docs/PROTOCOL.md §1): target length (414), head size and field count (431), and
 * the handshake timeout (408), on raw TCP sockets that send the request in one write, in pieces, or never complete it;
 * plus what this uWS build answers by itself beyond the gateway's limits.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Gateway } from '../../src/gateway.ts';
import { Code, connectClient, packServerId, startMockBackend, type MockBackend } from '../../src/testkit/index.ts';
import { pieces, rawRequest, upgradeHead, type RawAnswer } from './raw-request.ts';
import { metric, testGateway, urlOf } from './helpers.ts';

const GAME = packServerId({ serverType: 1 });
const HANDSHAKE_TIMEOUT_MS = 400;

let backend: MockBackend;
let gateway: Gateway;

before(async () => {
  backend = await startMockBackend();
  // The request limits at their defaults (2048, 4096, 64); a short handshake timeout so the test can wait for it.
  gateway = await testGateway({ routes: [{ serverType: 1, endpoints: [backend.endpoint] }], limits: { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS } });
});

after(async () => {
  await gateway.close();
  await backend.close();
});

const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-F${i}: v`);
const lineLength = (head: Buffer) => head.indexOf('\r\n') + 2;

/** The same request in one write, and in pieces that each arrive in their own read (the request line kept whole). */
async function bothWays(head: Buffer, size: number): Promise<[RawAnswer, RawAnswer]> {
  return [await rawRequest(gateway.port, [head]), await rawRequest(gateway.port, pieces(head, size, Math.max(size, lineLength(head))))];
}

const answer = (a: RawAnswer) => [a.status, a.code];

describe('the upgrade request is bounded, whatever its segmentation', () => {
  test('within every limit: upgraded, in one write and in 200-byte pieces', async () => {
    const head = upgradeHead(`/${'p'.repeat(1500)}`, fields(40));
    for (const a of await bothWays(head, 200)) assert.equal(a.status, 101);
  });

  test('a target over limits.maxUrlBytes: 414 URL_TOO_LONG in one write, in 4 KiB and in 200-byte pieces', async () => {
    const head = upgradeHead(`/${'u'.repeat(3000)}?q=1`);
    const [one, small] = await bothWays(head, 200);
    const [, large] = await bothWays(head, 4096);
    for (const a of [one, small, large]) assert.deepEqual(answer(a), [414, Code.URL_TOO_LONG]);
  });

  test('more fields than limits.maxHeaderFields: 431 HEADERS_TOO_LARGE in one write and in 100-byte pieces', async () => {
    const head = upgradeHead('/', fields(70));
    for (const a of await bothWays(head, 100)) assert.deepEqual(answer(a), [431, Code.HEADERS_TOO_LARGE]);
  });

  test('a head over limits.maxHeaderBytes (4096): 431 in one write (the gateway\'s) and in pieces (uWS\'s own)', async () => {
    const head = upgradeHead('/', [`X-Pad: ${'h'.repeat(4400)}`]);
    const [one, large] = await bothWays(head, 4096);
    const [, small] = await bothWays(head, 1024);
    assert.deepEqual(answer(one), [431, Code.HEADERS_TOO_LARGE]);
    // Past 4096 bytes arriving in more than one read, uWS answers before the gateway sees the request.
    assert.deepEqual([large.status, small.status], [431, 431]);
    const under = upgradeHead('/', [`X-Pad: ${'h'.repeat(3800)}`]);
    for (const a of await bothWays(under, 1024)) assert.equal(a.status, 101, 'just under the limit passes either way');
  });

  test('beyond the limits, what this uWS build does itself: 64 KiB headers get 431, a 64 KiB target in pieces 505', async () => {
    const bigHeader = upgradeHead('/', [`X-Big: ${'b'.repeat(64 * 1024)}`]);
    const [headerOne, headerPieces] = await bothWays(bigHeader, 4096);
    // 64 KiB written at once may still reach the server in several reads (loopback segmentation): then uWS answers
    // 431 itself, without the gateway's body. Either way it is 431, and a body, when there is one, names the code.
    const [status, code] = answer(headerOne);
    assert.equal(status, 431);
    if (code !== undefined) assert.equal(code, Code.HEADERS_TOO_LARGE);
    assert.equal(headerPieces.status, 431);
    const bigTarget = upgradeHead(`/${'u'.repeat(64 * 1024)}`);
    // The same holds for a 64 KiB request line written at once: whole in the first read, it is the gateway's 414; split
    // by loopback segmentation (seen in CI), uWS answers 505 itself, as it does to any request line in pieces.
    const targetOne = answer(await rawRequest(gateway.port, [bigTarget]));
    if (targetOne[0] !== 505) assert.deepEqual(targetOne, [414, Code.URL_TOO_LONG]);
    // A request line that does not arrive whole in the first read is refused by uWS with 505, whatever its length.
    assert.equal((await rawRequest(gateway.port, pieces(bigTarget, 4096))).status, 505);
    assert.equal((await rawRequest(gateway.port, pieces(upgradeHead('/short'), 8))).status, 505);
  });

  test('a request that is not an upgrade gets 426 and its connection closed', async () => {
    const a = await rawRequest(gateway.port, [Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\n\r\n')]);
    assert.equal(a.status, 426);
  });
});

describe('the handshake timeout', () => {
  test(`half a request: 408 HANDSHAKE_TIMEOUT and closed after limits.handshakeTimeoutMs (${HANDSHAKE_TIMEOUT_MS} ms), not uWS's 10 s; counted`, async () => {
    const before = await metric(gateway, 'actorgate_handshake_timeouts_total');
    const head = upgradeHead('/');
    const [half, other] = await Promise.all([rawRequest(gateway.port, [head.subarray(0, 40)]), rawRequest(gateway.port, [head.subarray(0, 60)])]);
    for (const a of [half, other]) {
      assert.deepEqual(answer(a), [408, Code.HANDSHAKE_TIMEOUT]);
      assert.ok(a.closedAfterMs >= HANDSHAKE_TIMEOUT_MS - 50 && a.closedAfterMs < 3000, `closed after ${a.closedAfterMs} ms`);
    }
    // 99 fields and more are never handed over by uWS: the handshake timeout is what ends such a request.
    const tooMany = await rawRequest(gateway.port, [upgradeHead('/', fields(100))]);
    assert.deepEqual(answer(tooMany), [408, Code.HANDSHAKE_TIMEOUT]);
    assert.equal((await metric(gateway, 'actorgate_handshake_timeouts_total')) - before, 3);
  });

  test('a session that upgraded while a half request from its address was pending is never touched by the deadline', async () => {
    const stalled = connect(gateway.port, '127.0.0.1', () => stalled.write(upgradeHead('/').subarray(0, 40)));
    stalled.on('error', () => {});
    await new Promise((resolve) => stalled.once('connect', resolve));
    const client = await connectClient(urlOf(gateway));
    try {
      await new Promise((resolve) => setTimeout(resolve, HANDSHAKE_TIMEOUT_MS * 2));
      client.send(1, GAME, 'still here');
      assert.equal((await client.nextFrame()).payload.toString(), 'still here');
      assert.equal(client.closeInfo, undefined);
    } finally {
      stalled.destroy();
      await client.close();
    }
  });
});
