import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayLink, type LinkOwner } from '../../../src/push-client/gateway-link.ts';
import { resolvePushClientOptions } from '../../../src/push-client/push-client-options.ts';
import type { DropReason, PushClientEvent } from '../../../src/push-client/push-client-events.ts';
import type { InstanceEntry } from '../../../src/control/registry-entry.ts';
import { waitUntil } from '../../../src/testkit/index.ts';

/** A gateway nobody listens for: the link stays connecting or in backoff, holding what it is given. */
const deadGateway: InstanceEntry = { v: 1, id: 'x', name: 'dead', nodeId: 5, clientUrls: [], pushAddress: '127.0.0.1:1', pushTls: false, workers: 1, sessions: 0, state: 'running', startedAt: 0, updatedAt: 0 };

function owner() {
  const events: PushClientEvent[] = [];
  const drops: { reason: DropReason; count: number }[] = [];
  const o: LinkOwner = { emit: (e) => events.push(e), drop: (reason, count) => drops.push({ reason, count }) };
  return { o, events, drops, dropped: (reason: DropReason) => drops.filter((d) => d.reason === reason).reduce((n, d) => n + d.count, 0) };
}

const push = (i: number) => ({ sessionId: String(i), msgId: 1, serverId: 256, payload: new Uint8Array([i & 0xff]) });

describe('GatewayLink while its gateway is unreachable', () => {
  it('holds at most maxBuffered pushes, drops the rest (overflow), then drops the held ones after maxBufferAgeMs (expired)', async () => {
    const { o, events, dropped } = owner();
    const link = new GatewayLink(deadGateway, resolvePushClientOptions({ redis: { url: 'redis://x:1' }, maxBuffered: 10, maxBufferAgeMs: 150, reconnect: { initialMs: 20, maxMs: 50 } }), o);
    try {
      const accepted = Array.from({ length: 25 }, (_, i) => link.send(push(i))).filter(Boolean).length;
      assert.equal(accepted, 10);
      assert.equal(link.buffered, 10);
      assert.equal(dropped('overflow'), 15);
      await waitUntil(() => dropped('expired') === 10, 3000, 'the held pushes to expire');
      assert.equal(link.buffered, 0);
      await waitUntil(() => events.some((e) => e.type === 'gateway-down'), 3000, 'the refusal reported');
      const down = events.find((e) => e.type === 'gateway-down');
      assert.ok(down?.type === 'gateway-down' && down.retryInMs >= 0 && down.retryInMs <= 50, 'a full-jitter delay within the ceiling');
    } finally {
      link.retire();
      await link.ended;
    }
  });

  it('hands back what it held when retired, and takes nothing after', async () => {
    const { o } = owner();
    const link = new GatewayLink(deadGateway, resolvePushClientOptions({ redis: { url: 'redis://x:1' } }), o);
    link.send(push(1));
    link.send(push(2));
    assert.deepEqual(link.retire().map((p) => p.sessionId), ['1', '2']);
    assert.equal(link.state, 'closed');
    assert.equal(link.send(push(3)), false);
    assert.deepEqual(link.retire(), [], 'idempotent');
    await link.ended;
  });
});
