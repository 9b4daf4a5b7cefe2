import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type uWS from 'uWebSockets.js';
import { LimitSlot, WORKER_SLOTS } from '../../../src/core/counters.ts';
import { HandshakeDeadlines } from '../../../src/worker/handshake-deadlines.ts';

/** A stand-in for the filter's response object of one connection: records what is written to it. */
class FakeResponse {
  readonly written: string[] = [];
  aborted: (() => void) | undefined;
  constructor(readonly peer: number[]) {}
  getRemoteAddress(): ArrayBuffer {
    return new Uint8Array(this.peer).buffer;
  }
  onAborted(cb: () => void): this {
    this.aborted = cb;
    return this;
  }
  cork(cb: () => void): this {
    cb();
    return this;
  }
  writeStatus(status: string): this {
    this.written.push(status);
    return this;
  }
  writeHeader(): this {
    return this;
  }
  end(body: string): this {
    this.written.push(body);
    return this;
  }
  /** The connection closes while its filter handler is installed (uWS calls it). */
  close(): void {
    this.aborted?.();
  }
}

const A = [10, 0, 0, 1];
const B = [10, 0, 0, 2];

function rig(timeoutMs = 1000) {
  const counters = new Float64Array(WORKER_SLOTS);
  const deadlines = new HandshakeDeadlines(timeoutMs, counters);
  let filter: ((res: uWS.HttpResponse, count: number) => void) | undefined;
  deadlines.attach({ filter: (cb: typeof filter) => (filter = cb) } as unknown as uWS.TemplatedApp);
  deadlines.stop();
  const open = (peer: number[]) => {
    const res = new FakeResponse(peer);
    filter!(res as unknown as uWS.HttpResponse, 1);
    return res;
  };
  const arrived = (peer: number[]) => deadlines.requestArrived(new FakeResponse(peer) as unknown as uWS.HttpResponse);
  return { deadlines, counters, open, arrived, later: () => performance.now() + timeoutMs + 1 };
}

describe('HandshakeDeadlines', () => {
  it('a connection still waiting at the deadline gets 408 and is counted; one that closed or sent its request is left alone', () => {
    const { deadlines, counters, open, arrived, later } = rig();
    const slow = open(A);
    const gone = open(B);
    gone.close();
    const fast = open([10, 0, 0, 3]);
    arrived([10, 0, 0, 3]);
    deadlines.sweep(performance.now());
    assert.deepEqual(slow.written, [], 'not before its deadline');
    deadlines.sweep(later());
    assert.equal(slow.written[0], '408 Request Timeout');
    assert.match(slow.written[1]!, /"code":4006/);
    assert.deepEqual(gone.written, []);
    assert.deepEqual(fast.written, []);
    assert.equal(counters[LimitSlot.HANDSHAKE_TIMEOUTS], 1);
    assert.equal(deadlines.watching, 0);
  });

  it('a request from a peer with two connections waiting: neither is ever touched (one of them may be a WebSocket now)', () => {
    const { deadlines, counters, open, arrived, later } = rig();
    const first = open(A);
    const second = open(A);
    arrived(A);
    deadlines.sweep(later());
    assert.deepEqual([first.written, second.written], [[], []]);
    assert.equal(counters[LimitSlot.HANDSHAKE_TIMEOUTS], 0);
    // The one that was still waiting closes (uWS's own timeout): the other is then known to have left; nothing is kept.
    second.close();
    assert.equal(deadlines.watching, 0);
  });

  it('after an unmatched request, a connection opened later from the same peer still gets its deadline', () => {
    const { deadlines, open, arrived, later } = rig();
    open(A);
    open(A);
    arrived(A);
    const third = open(A);
    deadlines.sweep(later());
    assert.equal(third.written[0], '408 Request Timeout');
  });

  it('requests that account for every uncertain connection forget them all', () => {
    const { deadlines, open, arrived } = rig();
    open(A);
    open(A);
    arrived(A);
    arrived(A);
    assert.equal(deadlines.watching, 0);
  });
});
