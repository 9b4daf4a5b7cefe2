import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { DashboardStream } from '../../../src/admin/dashboard-stream.ts';
import { histogramQuantile } from '../../../src/core/histogram-slots.ts';
import { waitUntil } from '../../../src/testkit/index.ts';

/** Frames this large fill a loopback socket's kernel buffers within a second, so the stream's own bound shows. */
const FRAME_BYTES = 256 * 1024;

test('a viewer that stops reading skips frames (no backlog) and is dropped after the stall timeout', async () => {
  let frames = 0;
  const source = { take: () => ({ n: ++frames, pad: 'x'.repeat(FRAME_BYTES) }), reset() {} };
  const stream = new DashboardStream(source, { intervalMs: 10, maxViewers: 4, stallTimeoutMs: 1500 });
  const responses: ServerResponse[] = [];
  const server = createServer((req, res) => {
    responses.push(res);
    stream.open(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const viewer = (): Promise<{ socket: Socket; received: () => number }> =>
    new Promise((resolve) => {
      let bytes = 0;
      const request = 'GET /dashboard/events HTTP/1.1\r\nhost: x\r\n\r\n';
      const socket = connect(port, '127.0.0.1', () => socket.write(request));
      socket.once('data', () => resolve({ socket, received: () => bytes }));
      socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    });
  try {
    const stalled = await viewer();
    stalled.socket.pause();
    const reader = await viewer();
    const stalledRes = responses[0]!;
    let largestQueue = 0;
    const sampler = setInterval(() => (largestQueue = Math.max(largestQueue, stalledRes.writableLength)), 5);
    await waitUntil(() => stream.skipped > 20, 5000, 'frames to be skipped for the stalled viewer');
    const readBefore = reader.received();
    const goesOn = () => reader.received() > readBefore + 10 * FRAME_BYTES;
    await waitUntil(goesOn, 5000, 'the reading viewer to go on receiving');
    clearInterval(sampler);
    // At most the frame it was given last, on top of the stream's high-water mark: no backlog builds.
    assert.ok(largestQueue <= stalledRes.writableHighWaterMark + FRAME_BYTES + 1024, `queued ${largestQueue} bytes`);
    await waitUntil(() => stream.viewers === 1, 3000, 'the stalled viewer to be disconnected (the reader stays)');
    assert.ok(stalledRes.destroyed);
    stalled.socket.destroy();
    reader.socket.destroy();
    await waitUntil(() => stream.viewers === 0, 2000, 'the reader to leave');
  } finally {
    stream.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('the quantile of a cumulative histogram interpolates within its bucket, as histogram_quantile does', () => {
  const bounds = [0.001, 0.002, 0.005, 0.01];
  // 100 samples: 50 at or below 1 ms, 90 at or below 2 ms, 99 at or below 5 ms, all at or below 10 ms.
  const cumulative = [50, 90, 99, 100];
  assert.equal(histogramQuantile(0.5, bounds, cumulative, 100), 0.001);
  assert.ok(Math.abs(histogramQuantile(0.99, bounds, cumulative, 100) - 0.005) < 1e-12);
  assert.ok(Math.abs(histogramQuantile(0.7, bounds, cumulative, 100) - 0.0015) < 1e-12);
  assert.equal(histogramQuantile(0.99, bounds, [0, 0, 0, 0], 10), 0.01, 'past the last bound: the last bound');
});
