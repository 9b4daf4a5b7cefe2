import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StreamMailbox } from '../../../src/backend/stream-mailbox.ts';
import { PacketKind } from '../../../src/backend/proto.ts';
import { dataPacket, sessionPacket, type StreamPacket } from '../../../src/backend/stream-packet.ts';
import { EndpointSlot } from '../../../src/core/counters.ts';

// msgId numbers every entry, so order can be read back whatever the kind.
const data = (n: number): StreamPacket => dataPacket(n, 0, n, 0, new Uint8Array(1));
const lifecycle = (n: number, kind: typeof PacketKind.OPEN | typeof PacketKind.CLOSE = PacketKind.CLOSE): StreamPacket => {
  const packet = sessionPacket(kind, n, 0);
  packet.msgId = n;
  return packet;
};

function drainAll(mailbox: StreamMailbox): number[] {
  const out: number[] = [];
  for (let packet = mailbox.shift(); packet !== undefined; packet = mailbox.shift()) out.push(packet.msgId);
  return out;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('StreamMailbox', () => {
  it('hands entries out in the order they came in, DATA and lifecycle interleaved', () => {
    const mailbox = new StreamMailbox(100);
    for (let i = 0; i < 50; i++) {
      if (i % 5 === 0) mailbox.pushLifecycle(lifecycle(i, PacketKind.OPEN), i);
      else assert.equal(mailbox.offer(data(i), i), true);
    }
    assert.equal(mailbox.size, 50);
    assert.equal(mailbox.dataCount, 40);
    assert.equal(mailbox.peek()?.msgId, 0);
    assert.equal(mailbox.peek()?.msgId, 0, 'peek does not remove');
    assert.deepEqual(drainAll(mailbox), range(0, 50));
    assert.equal(mailbox.shift(), undefined);
    assert.equal(mailbox.peek(), undefined);
    assert.equal(mailbox.size, 0);
  });

  it('hands out the very packet it was given (no copy)', () => {
    const mailbox = new StreamMailbox(2);
    const packet = data(1);
    mailbox.offer(packet, 0);
    assert.equal(mailbox.shift(), packet);
  });

  it('refuses DATA at its capacity and takes it again once DATA leaves', () => {
    const mailbox = new StreamMailbox(3);
    for (const n of [1, 2]) assert.equal(mailbox.offer(data(n), 0), true);
    assert.equal(mailbox.isFull, false);
    assert.equal(mailbox.offer(data(3), 0), true);
    assert.equal(mailbox.isFull, true);
    assert.equal(mailbox.offer(data(4), 0), false);
    assert.equal(mailbox.offer(data(4), 0), false, 'still refused: a refusal changes nothing');
    assert.equal(mailbox.size, 3);
    assert.equal(mailbox.dataCount, 3);
    assert.equal(mailbox.shift()?.msgId, 1);
    assert.equal(mailbox.isFull, false);
    assert.equal(mailbox.offer(data(5), 0), true);
    assert.deepEqual(drainAll(mailbox), [2, 3, 5], 'a refused packet is not queued');
  });

  it('takes lifecycle entries past the DATA bound, and their leaving frees no DATA room', () => {
    const mailbox = new StreamMailbox(2);
    mailbox.pushLifecycle(lifecycle(0, PacketKind.OPEN), 0);
    assert.equal(mailbox.offer(data(1), 0), true);
    assert.equal(mailbox.offer(data(2), 0), true);
    assert.equal(mailbox.offer(data(3), 0), false);
    for (let i = 3; i < 103; i++) mailbox.pushLifecycle(lifecycle(i), 0);
    assert.equal(mailbox.size, 103);
    assert.equal(mailbox.dataCount, 2);
    assert.equal(mailbox.isFull, true);
    assert.equal(mailbox.shift()?.msgId, 0, 'the OPEN');
    assert.equal(mailbox.dataCount, 2);
    assert.equal(mailbox.offer(data(200), 0), false, 'a lifecycle entry leaving does not make room for DATA');
    assert.equal(mailbox.shift()?.msgId, 1);
    assert.equal(mailbox.dataCount, 1);
    assert.equal(mailbox.offer(data(201), 0), true, 'DATA leaving does');
    assert.deepEqual(drainAll(mailbox), [2, ...range(3, 103), 201]);
  });

  it('oldestTime is the enqueue time of the entry at the head, Infinity when empty', () => {
    const mailbox = new StreamMailbox(10);
    assert.equal(mailbox.oldestTime(), Infinity);
    mailbox.offer(data(1), 1000);
    mailbox.pushLifecycle(lifecycle(2), 2000);
    mailbox.offer(data(3), 3000);
    assert.equal(mailbox.offer(data(4), 500), true);
    assert.equal(mailbox.oldestTime(), 1000, 'the head, not the smallest time queued');
    mailbox.shift();
    assert.equal(mailbox.oldestTime(), 2000, 'a lifecycle entry ages like DATA');
    mailbox.shift();
    assert.equal(mailbox.oldestTime(), 3000);
    mailbox.shift();
    mailbox.shift();
    assert.equal(mailbox.oldestTime(), Infinity);
  });

  it('keeps order, counts and times when it grows past its first slots while wrapped', () => {
    // Capacity 4 starts with 20 slots. Shifting first moves the head, so the ring has wrapped when it grows.
    const mailbox = new StreamMailbox(4);
    for (let i = 0; i < 4; i++) mailbox.offer(data(i), i);
    for (let i = 0; i < 3; i++) mailbox.shift();
    for (let i = 4; i < 60; i++) mailbox.pushLifecycle(lifecycle(i), i);
    assert.equal(mailbox.size, 57);
    assert.equal(mailbox.dataCount, 1);
    assert.equal(mailbox.oldestTime(), 3);
    mailbox.shift();
    assert.equal(mailbox.dataCount, 0, 'the DATA entry kept its mark through the growth');
    assert.equal(mailbox.oldestTime(), 4);
    assert.deepEqual(drainAll(mailbox), range(4, 60));
  });

  it('keeps order through repeated growth and wrap-around under mixed traffic', () => {
    const mailbox = new StreamMailbox(10_000);
    let next = 0;
    let expected = 0;
    // Pushes outnumber shifts each round, so the head wanders and the ring wraps before and after each growth.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 150; i++) {
        const n = next++;
        if (n % 7 === 0) mailbox.pushLifecycle(lifecycle(n), n);
        else assert.equal(mailbox.offer(data(n), n), true);
      }
      for (let i = 0; i < 100; i++) assert.equal(mailbox.shift()?.msgId, expected++);
    }
    assert.equal(mailbox.oldestTime(), expected);
    assert.deepEqual(drainAll(mailbox), range(expected, next));
    assert.equal(mailbox.size, 0);
    assert.equal(mailbox.dataCount, 0);
  });

  it('keeps the endpoint depth gauge at the DATA count and the peak at its highest', () => {
    const gauges = new Float64Array(EndpointSlot.MAILBOX_PEAK + 1);
    const mailbox = new StreamMailbox(3, gauges);
    mailbox.offer(data(1), 0);
    mailbox.offer(data(2), 0);
    mailbox.pushLifecycle(lifecycle(3), 0);
    assert.equal(gauges[EndpointSlot.MAILBOX_DEPTH], 2, 'lifecycle entries are not in the depth');
    mailbox.offer(data(4), 0);
    mailbox.offer(data(5), 0);
    assert.equal(gauges[EndpointSlot.MAILBOX_DEPTH], 3, 'a refused offer is not counted');
    mailbox.shift();
    mailbox.shift();
    mailbox.shift();
    assert.equal(gauges[EndpointSlot.MAILBOX_DEPTH], 1);
    assert.equal(gauges[EndpointSlot.MAILBOX_PEAK], 3);
  });

  it('clear() empties it: nothing left, no DATA counted, room for a full capacity again', () => {
    const mailbox = new StreamMailbox(5);
    for (let i = 0; i < 5; i++) mailbox.offer(data(i), i);
    mailbox.pushLifecycle(lifecycle(5), 5);
    mailbox.clear();
    assert.equal(mailbox.size, 0);
    assert.equal(mailbox.dataCount, 0);
    assert.equal(mailbox.isFull, false);
    assert.equal(mailbox.peek(), undefined);
    assert.equal(mailbox.oldestTime(), Infinity);
    for (let i = 10; i < 15; i++) assert.equal(mailbox.offer(data(i), i), true);
    assert.equal(mailbox.offer(data(15), 15), false);
    assert.deepEqual(drainAll(mailbox), range(10, 15));
    mailbox.clear();
    assert.equal(mailbox.size, 0, 'clearing an empty mailbox is fine');
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) assert.throws(() => new StreamMailbox(capacity), RangeError);
  });
});
