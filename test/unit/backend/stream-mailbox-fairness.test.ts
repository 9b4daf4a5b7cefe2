/**
 * The mailbox's fairness: each session's share of it (backend.maxQueuedPerSession), round-robin service across
 * sessions, order kept within one, expiry per session, and the batches StreamSessions fills from it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StreamMailbox } from '../../../src/backend/stream-mailbox.ts';
import { StreamSessions } from '../../../src/backend/stream-sessions.ts';
import { PacketKind } from '../../../src/backend/proto.ts';
import { dataPacket, sessionPacket, type StreamPacket } from '../../../src/backend/stream-packet.ts';
import type { PacketProbe } from '../../../src/backend/packet-probe.ts';
import { EndpointSlot } from '../../../src/core/counters.ts';
import { sessionKey } from '../../../src/core/session-id.ts';
import { resolveConfig } from '../../../src/core/options.ts';

// Session n has id words (n, 0), so its key is n; msgId numbers a session's packets.
const data = (session: number, msgId: number): StreamPacket => dataPacket(session, 0, msgId, 0, new Uint8Array(1));
const close = (session: number): StreamPacket => sessionPacket(PacketKind.CLOSE, session, 0);
const label = (p: StreamPacket) => `${p.kind === PacketKind.CLOSE ? 'close' : 'data'}:${p.idLo}.${p.msgId}`;

function drain(mailbox: StreamMailbox): string[] {
  const out: string[] = [];
  for (let p = mailbox.shift(); p !== undefined; p = mailbox.shift()) out.push(label(p));
  return out;
}

describe('StreamMailbox share per session', () => {
  it('refuses a session past its share while others are still taken, and takes it again once its DATA leaves', () => {
    const mailbox = new StreamMailbox(10, undefined, 3);
    for (let i = 1; i <= 3; i++) assert.equal(mailbox.offer(data(1, i), 0), true);
    assert.equal(mailbox.offer(data(1, 4), 0), false, 'the fourth is past the share');
    assert.equal(mailbox.isFull, false, 'refused for its share, not for the bound');
    assert.equal(mailbox.queuedBy(1), 3);
    for (let i = 1; i <= 3; i++) assert.equal(mailbox.offer(data(2, i), 0), true, 'another session has its own share');
    mailbox.pushLifecycle(close(1), 0);
    assert.equal(mailbox.size, 7, 'a CLOSE is taken past the share');
    assert.equal(mailbox.shift()?.idLo, 1);
    assert.equal(mailbox.queuedBy(1), 2);
    assert.equal(mailbox.offer(data(1, 5), 0), true, 'room in its share again');
    assert.deepEqual(drain(mailbox), [
      'data:2.1', 'data:1.2', 'data:2.2', 'data:1.3', 'data:2.3', 'close:1.0', 'data:1.5',
    ]);
  });

  it('at the whole bound refuses every session, and reports it as full', () => {
    const mailbox = new StreamMailbox(4, undefined, 2);
    for (const s of [1, 2]) for (const m of [1, 2]) assert.equal(mailbox.offer(data(s, m), 0), true);
    assert.equal(mailbox.isFull, true);
    assert.equal(mailbox.offer(data(3, 1), 0), false, 'a session holding nothing is refused at the bound');
    assert.equal(mailbox.queuedBy(3), 0);
  });

  it('defaults to the whole capacity and refuses a share outside 1 to capacity', () => {
    assert.equal(new StreamMailbox(8).perSession, 8);
    assert.throws(() => new StreamMailbox(8, undefined, 9), RangeError);
    assert.throws(() => new StreamMailbox(8, undefined, 0), RangeError);
  });

  it('config: 0 resolves to a quarter of mailboxCapacity, rounded up; more than the capacity is refused', () => {
    assert.equal(resolveConfig({}).backend.maxQueuedPerSession, 1024);
    assert.equal(resolveConfig({ backend: { mailboxCapacity: 10 } }).backend.maxQueuedPerSession, 3);
    const whole = resolveConfig({ backend: { mailboxCapacity: 10, maxQueuedPerSession: 10 } });
    assert.equal(whole.backend.maxQueuedPerSession, 10);
    const over = { backend: { mailboxCapacity: 10, maxQueuedPerSession: 11 } };
    assert.throws(() => resolveConfig(over), /backend\.maxQueuedPerSession/);
  });
});

describe('StreamMailbox round-robin', () => {
  it('takes one entry per session per round, each session in its own order, CLOSE after its DATA', () => {
    const mailbox = new StreamMailbox(100);
    for (let m = 1; m <= 4; m++) mailbox.offer(data(1, m), 0);
    mailbox.offer(data(2, 1), 0);
    mailbox.offer(data(2, 2), 0);
    mailbox.pushLifecycle(close(2), 0);
    mailbox.offer(data(3, 1), 0);
    assert.deepEqual(drain(mailbox), [
      'data:1.1', 'data:2.1', 'data:3.1', 'data:1.2', 'data:2.2', 'data:1.3', 'close:2.0', 'data:1.4',
    ]);
    assert.equal(mailbox.size, 0);
    assert.equal(mailbox.dataCount, 0);
  });

  it('puts a session that starts queueing at the back of the round, and one that empties out of it', () => {
    const mailbox = new StreamMailbox(100);
    mailbox.offer(data(1, 1), 0);
    mailbox.offer(data(1, 2), 0);
    mailbox.offer(data(2, 1), 0);
    assert.equal(label(mailbox.shift()!), 'data:1.1');
    mailbox.offer(data(3, 1), 0);
    assert.equal(label(mailbox.shift()!), 'data:2.1');
    mailbox.offer(data(2, 2), 0);
    assert.deepEqual(drain(mailbox), ['data:1.2', 'data:3.1', 'data:2.2']);
  });

  it('keeps each session in order through queue growth and the reuse of released queues', () => {
    const mailbox = new StreamMailbox(100_000);
    const next = new Map<number, number>();
    const seen = new Map<number, number>();
    for (let round = 0; round < 40; round++) {
      // Session round % 7 floods (a queue grows), the others send one or two and empty out (queues are reused).
      for (let s = 0; s < 7; s++) {
        const count = s === round % 7 ? 50 : 1 + (s % 2);
        for (let i = 0; i < count; i++) {
          const m = (next.get(s) ?? 0) + 1;
          next.set(s, m);
          assert.equal(mailbox.offer(data(s, m), round), true);
        }
      }
      for (let i = 0; i < 40; i++) {
        const p = mailbox.shift()!;
        assert.equal(p.msgId, (seen.get(p.idLo) ?? 0) + 1, `session ${p.idLo} in order`);
        seen.set(p.idLo, p.msgId);
      }
    }
    for (let p = mailbox.shift(); p !== undefined; p = mailbox.shift()) {
      assert.equal(p.msgId, (seen.get(p.idLo) ?? 0) + 1);
      seen.set(p.idLo, p.msgId);
    }
    assert.deepEqual(seen, next, 'every packet came out once');
  });
});

describe('StreamMailbox slab', () => {
  it('keeps every session linked in order when its slots grow and freed slots pass to other sessions', () => {
    // Capacity 4 starts with 20 slots; lifecycle entries (not bounded) make it grow while three sessions interleave.
    const mailbox = new StreamMailbox(4);
    const sent = [0, 0, 0, 0];
    const seen = [0, 0, 0, 0];
    const take = (count: number) => {
      for (let i = 0; i < count; i++) {
        const p = mailbox.shift()!;
        assert.equal(p.msgId, ++seen[p.idLo]!, `session ${p.idLo} in order`);
      }
    };
    for (let round = 0; round < 30; round++) {
      for (let s = 1; s <= 3; s++) {
        for (let i = 0; i <= s; i++) {
          const p = close(s);
          p.msgId = ++sent[s]!;
          mailbox.pushLifecycle(p, round);
        }
      }
      take(5);
    }
    take(mailbox.size);
    assert.deepEqual(seen, sent);
    assert.equal(mailbox.size, 0);
  });
});

describe('StreamMailbox expiry', () => {
  it('hands back the entries older than the cut, per session oldest first, and the rest keep their turns', () => {
    const gauges = new Float64Array(EndpointSlot.MAILBOX_PEAK + 1);
    const mailbox = new StreamMailbox(100, gauges);
    mailbox.offer(data(1, 1), 10);
    mailbox.offer(data(2, 1), 10);
    mailbox.offer(data(1, 2), 20);
    mailbox.pushLifecycle(close(2), 20);
    mailbox.offer(data(3, 1), 30);
    mailbox.offer(data(1, 3), 30);
    const out: StreamPacket[] = [];
    mailbox.expire(25, out);
    assert.deepEqual(out.map(label), ['data:1.1', 'data:1.2', 'data:2.1', 'close:2.0']);
    assert.equal(mailbox.dataCount, 2);
    assert.equal(gauges[EndpointSlot.MAILBOX_DEPTH], 2);
    assert.equal(gauges[EndpointSlot.MAILBOX_PEAK], 5);
    mailbox.offer(data(2, 2), 40);
    assert.deepEqual(drain(mailbox), ['data:1.3', 'data:3.1', 'data:2.2'], 'the ring survived the emptied sessions');
  });

  it('expires everything for Infinity, and the mailbox is empty after', () => {
    const mailbox = new StreamMailbox(100);
    for (let s = 1; s <= 5; s++) for (let m = 1; m <= 3; m++) mailbox.offer(data(s, m), m);
    mailbox.pushLifecycle(close(5), 9);
    const out: StreamPacket[] = [];
    mailbox.expire(Infinity, out);
    assert.equal(out.length, 16);
    assert.equal(mailbox.size, 0);
    assert.equal(mailbox.dataCount, 0);
    assert.equal(mailbox.peek(), undefined);
    mailbox.offer(data(9, 1), 100);
    assert.deepEqual(drain(mailbox), ['data:9.1']);
  });
});

describe('batches from a shared mailbox', () => {
  it('one flooding session cannot fill a batch: every other session gets a packet into the first one', () => {
    const mailbox = new StreamMailbox(10_000);
    const sessions = new StreamSessions();
    const probes: PacketProbe[] = [];
    const probe = { at: 1 } as unknown as PacketProbe;
    const send = (packet: StreamPacket) => {
      assert.equal(mailbox.offer(packet, 0), true);
      sessions.queued(sessionKey(packet.idLo, packet.idHi));
    };
    for (let m = 1; m <= 500; m++) send(data(1, m));
    for (let s = 2; s <= 6; s++) send(s === 6 ? { ...data(s, 1), probe } : data(s, 1));
    const opened = new Set<number>([1, 2, 3, 4, 5, 6].map((s) => sessionKey(s, 0)));
    const out: StreamPacket[] = [];
    sessions.fillBatch(mailbox, opened, out, 8, Infinity, probes);
    assert.deepEqual(out.map(label), [
      'data:1.1', 'data:2.1', 'data:3.1', 'data:4.1', 'data:5.1', 'data:6.1', 'data:1.2', 'data:1.3',
    ]);
    assert.deepEqual(probes, [probe], 'the probe of the packet taken is collected');
    assert.equal(mailbox.dataCount, 497);
  });
});
