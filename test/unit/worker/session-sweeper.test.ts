import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoarseClock } from '../../../src/core/coarse-clock.ts';
import type { LimitsOptions } from '../../../src/core/options.ts';
import { Code } from '../../../src/protocol/codes.ts';
import type { SessionShard } from '../../../src/worker/session-shard.ts';
import { SessionSweeper } from '../../../src/worker/session-sweeper.ts';

const LIMITS = { idleTimeoutMs: 600, pingIntervalMs: 200, slowConsumerGraceMs: 5000, clientSendBufferBytes: 1 << 20 } as LimitsOptions;

/** A session as the sweeper sees it: its stamps and a socket that records pings and ends. */
function fakeSession(lastSeen: number) {
  const ws = { pings: 0, ended: undefined as number | undefined, ping() { this.pings++; }, end(code: number) { this.ended = code; } };
  return { lastSeen, pingSentAt: 0, slowSince: 0, ws };
}

function sweeperOf(sessions: ReturnType<typeof fakeSession>[]) {
  const clock = new CoarseClock(100); // not started: the test moves it, as its timer would, every 100 ms
  const shard = { values: () => sessions.values() } as unknown as SessionShard;
  return { clock, sweeper: new SessionSweeper(LIMITS, shard, new Float64Array(512), clock) };
}

describe('SessionSweeper pings', () => {
  it('keeps pinging a client that answers every ping before the coarse clock ticks, and never closes it', () => {
    const session = fakeSession(0);
    const { clock, sweeper } = sweeperOf([session]);
    // 5 s in 10 ms sweeps; the coarse clock lags real time by up to its 100 ms period.
    for (let now = 0; now <= 5000; now += 10) {
      clock.now = Math.floor(now / 100) * 100;
      const pings = session.ws.pings;
      sweeper.tick(now + 5);
      // The pong comes back at once (loopback), and is stamped with the coarse clock as the worker stamps it.
      if (session.ws.pings > pings) session.lastSeen = clock.now;
    }
    assert.equal(session.ws.ended, undefined, 'an answering client is not closed');
    assert.ok(session.ws.pings >= 20, `a ping every ~${LIMITS.pingIntervalMs} ms of silence, got ${session.ws.pings} in 5 s`);
  });

  it('closes a client that stops answering with IDLE_TIMEOUT, after one unanswered ping', () => {
    const session = fakeSession(0);
    const { clock, sweeper } = sweeperOf([session]);
    for (let now = 0; now <= 1000 && session.ws.ended === undefined; now += 10) {
      clock.now = Math.floor(now / 100) * 100;
      sweeper.tick(now);
    }
    assert.equal(session.ws.ended, Code.IDLE_TIMEOUT);
    assert.equal(session.ws.pings, 1);
  });
});
