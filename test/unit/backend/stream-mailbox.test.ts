import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StreamMailbox } from '../../../src/backend/stream-mailbox.ts';
import { PacketKind, type Packet } from '../../../src/backend/proto.ts';

const data = (n: number, bytes = 0): Packet => ({ sessionId: String(n), msgId: n, kind: PacketKind.DATA, payload: new Uint8Array(bytes) });
const open = (n: number): Packet => ({ sessionId: String(n), kind: PacketKind.OPEN });
const close = (n: number): Packet => ({ sessionId: String(n), kind: PacketKind.CLOSE, code: 4001 });

function drainAll(mailbox: StreamMailbox): Packet[] {
  const out: Packet[] = [];
  for (let packet = mailbox.shift(); packet !== undefined; packet = mailbox.shift()) out.push(packet);
  return out;
}

describe('StreamMailbox', () => {
  it('is FIFO', () => {
    const mailbox = new StreamMailbox(100);
    for (let i = 0; i < 50; i++) assert.equal(mailbox.offer(data(i), i), true);
    assert.equal(mailbox.size, 50);
    assert.equal(mailbox.peek()?.msgId, 0);
    for (let i = 0; i < 50; i++) assert.equal(mailbox.shift()?.msgId, i);
    assert.equal(mailbox.shift(), undefined);
    assert.equal(mailbox.peek(), undefined);
    assert.equal(mailbox.size, 0);
  });

  it('refuses a DATA offer at capacity, and accepts again once one leaves', () => {
    const mailbox = new StreamMailbox(3);
    assert.equal(mailbox.offer(data(1), 0), true);
    assert.equal(mailbox.offer(data(2), 0), true);
    assert.equal(mailbox.isFull, false);
    assert.equal(mailbox.offer(data(3), 0), true);
    assert.equal(mailbox.isFull, true);
    assert.equal(mailbox.offer(data(4), 0), false);
    assert.equal(mailbox.size, 3);
    assert.equal(mailbox.dataCount, 3);
    mailbox.shift();
    assert.equal(mailbox.isFull, false);
    assert.equal(mailbox.offer(data(5), 0), true);
    assert.deepEqual(drainAll(mailbox).map((p) => p.msgId), [2, 3, 5]);
  });

  it('treats a packet without kind as DATA when it leaves', () => {
    const mailbox = new StreamMailbox(1);
    assert.equal(mailbox.offer({ sessionId: '1', payload: new Uint8Array(1) }, 0), true);
    assert.equal(mailbox.offer(data(2), 0), false);
    mailbox.shift();
    assert.equal(mailbox.dataCount, 0);
    assert.equal(mailbox.offer(data(3), 0), true);
  });

  it('accepts lifecycle packets past the bound without counting them as DATA', () => {
    const mailbox = new StreamMailbox(2);
    mailbox.pushLifecycle(open(1), 0);
    assert.equal(mailbox.offer(data(1), 0), true);
    assert.equal(mailbox.offer(data(2), 0), true);
    assert.equal(mailbox.offer(data(3), 0), false);
    for (let i = 0; i < 100; i++) mailbox.pushLifecycle(close(i), 0);
    assert.equal(mailbox.size, 103);
    assert.equal(mailbox.dataCount, 2);
    assert.equal(mailbox.isFull, true);
    // Lifecycle packets leaving do not free DATA room; DATA leaving does.
    assert.equal(mailbox.shift()!.kind, PacketKind.OPEN);
    assert.equal(mailbox.dataCount, 2);
    assert.equal(mailbox.offer(data(4), 0), false);
    mailbox.shift(); // data 1
    assert.equal(mailbox.dataCount, 1);
    assert.equal(mailbox.offer(data(5), 0), true);
  });

  it('keeps order through growth and wrap-around', () => {
    const mailbox = new StreamMailbox(10_000);
    let next = 0;
    let expected = 0;
    // Interleave pushes and shifts so the head wanders and the ring wraps before and after each growth.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 150; i++) {
        const n = next++;
        if (n % 7 === 0) mailbox.pushLifecycle({ ...open(n), msgId: n }, n);
        else assert.equal(mailbox.offer(data(n), n), true);
      }
      for (let i = 0; i < 100; i++) {
        const packet = mailbox.shift()!;
        assert.equal(packet.msgId, expected++);
      }
    }
    assert.equal(mailbox.oldestTime(), expected);
    const rest = drainAll(mailbox).map((p) => p.msgId);
    assert.deepEqual(rest, Array.from({ length: next - expected }, (_, i) => expected + i));
    assert.equal(mailbox.size, 0);
    assert.equal(mailbox.dataCount, 0);
  });

  it('keeps order when lifecycle packets grow a small mailbox while wrapped', () => {
    const mailbox = new StreamMailbox(4); // 20 slots to start
    for (let i = 0; i < 4; i++) mailbox.offer(data(i), i);
    for (let i = 0; i < 3; i++) mailbox.shift();
    for (let i = 4; i < 60; i++) mailbox.pushLifecycle({ ...close(i), msgId: i }, i);
    assert.deepEqual(drainAll(mailbox).map((p) => p.msgId), Array.from({ length: 57 }, (_, i) => i + 3));
  });

  it('oldestTime is the enqueue time of the head, Infinity when empty', () => {
    const mailbox = new StreamMailbox(10);
    assert.equal(mailbox.oldestTime(), Infinity);
    mailbox.offer(data(1), 1000);
    mailbox.pushLifecycle(open(2), 2000);
    mailbox.offer(data(3), 3000);
    assert.equal(mailbox.oldestTime(), 1000);
    mailbox.shift();
    assert.equal(mailbox.oldestTime(), 2000);
    mailbox.shift();
    mailbox.shift();
    assert.equal(mailbox.oldestTime(), Infinity);
  });

  it('clear hands each packet, in order, to the callback and empties the mailbox', () => {
    const mailbox = new StreamMailbox(5);
    for (let i = 0; i < 5; i++) mailbox.offer(data(i), i);
    mailbox.pushLifecycle({ ...close(5), msgId: 5 }, 5);
    const dropped: (number | undefined)[] = [];
    mailbox.clear((packet) => dropped.push(packet.msgId));
    assert.deepEqual(dropped, [0, 1, 2, 3, 4, 5]);
    assert.equal(mailbox.size, 0);
    assert.equal(mailbox.dataCount, 0);
    assert.equal(mailbox.isFull, false);
    assert.equal(mailbox.offer(data(9), 9), true);
    mailbox.clear(); // no callback is fine
    assert.equal(mailbox.size, 0);
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) assert.throws(() => new StreamMailbox(capacity), RangeError);
  });
});
