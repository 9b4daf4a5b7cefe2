import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createAdmissionBuffer } from '../../../src/core/admission-memory.ts';
import { UserRates, type UserCells } from '../../../src/core/user-rate.ts';

const spec = { messagesPerSecond: 100, messageBurst: 10, bytesPerSecond: 0, byteBurst: 1 };

function cellsOf(rates: UserRates, user: string): UserCells {
  const cells = { userId: '', cell0: 0, cell1: 0, retryAtMs: 0 };
  rates.locate(user, cells);
  return cells;
}

describe('UserRates', () => {
  it('two threads\' views of one buffer share a user\'s bucket; another user has its own', () => {
    const buffer = createAdmissionBuffer(2);
    const a = new UserRates(buffer, spec);
    const b = new UserRates(buffer, spec);
    const now = 1_700_000_000_000;
    const alice = cellsOf(a, 'alice');
    const taken = Array.from({ length: 15 }, (_, i) => (i % 2 === 0 ? a : b).take(alice, 10, now)).filter(Boolean).length;
    assert.equal(taken, 10, 'the burst, whichever view takes');
    assert.equal(b.take(cellsOf(b, 'bob'), 10, now), true, 'bob is not alice');
    assert.equal(a.take(alice, 10, now + 15), true, '15 ms at 100/s: one more');
    assert.equal(a.take(alice, 10, now + 15), false);
  });

  it('bytes cost their size; a message the byte bucket refuses takes no message token', () => {
    const rates = new UserRates(createAdmissionBuffer(1), { messagesPerSecond: 1, messageBurst: 2, bytesPerSecond: 1000, byteBurst: 1000 });
    const user = cellsOf(rates, 'u');
    const now = 1_700_000_000_000;
    assert.equal(rates.take(user, 1000, now), true);
    assert.equal(rates.take(user, 100, now), false, 'bytes empty');
    assert.equal(rates.take(user, 100, now + 150), true, '150 bytes refilled in 150 ms, and the refused message left its message token');
    assert.equal(rates.take(user, 1, now + 150), false, 'the two messages taken spent both message tokens');
  });
});
