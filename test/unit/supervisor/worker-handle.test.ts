/** WorkerHandle with an in-process stand-in for its thread: what /metrics reads of a slot whose thread ended. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { AuthSlot, WorkerSlot } from '../../../src/core/counters.ts';
import { resolveConfig } from '../../../src/core/options.ts';
import { WorkerHandle, type WorkerThread } from '../../../src/supervisor/worker-handle.ts';

class Thread extends EventEmitter implements WorkerThread {
  postMessage(): void {}
  terminate(): Promise<number> {
    return Promise.resolve(0);
  }
  unref(): void {}
}

describe('WorkerHandle', () => {
  it('zeroes the gauges its thread wrote when the thread ends: sessions and verifications in flight', async () => {
    const threads: Thread[] = [];
    const handle = new WorkerHandle(0, 0, pino({ level: 'silent' }), () => {
      const thread = new Thread();
      threads.push(thread);
      return thread;
    });
    const events = { onUnexpectedExit() {}, onExit() {}, onPushResult() {} };
    const started = handle.spawn({ script: 'unused' }, resolveConfig({ listen: { port: 0 } }), 0, events);
    threads[0]!.emit('message', { type: 'listening', port: 4000 });
    assert.equal(await started, 4000);
    // What the thread had written when it crashed, with handshakes waiting for their verdicts.
    const gauges = handle.counters.worker;
    gauges[WorkerSlot.SESSIONS] = 12;
    gauges[AuthSlot.PENDING] = 5;
    threads[0]!.emit('exit', 1);
    assert.equal(gauges[WorkerSlot.SESSIONS], 0);
    assert.equal(gauges[AuthSlot.PENDING], 0, 'actorgate_auth_pending reads 0 until the next thread verifies anything');
  });
});
