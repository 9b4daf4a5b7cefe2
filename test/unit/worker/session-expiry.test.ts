/**
 * SessionExpiry: what its heap holds after sessions end, and closing at the deadline (stand-in sockets); and, in a
 * worker actor run in-process with a real uWS app, that the close reaches a client that never answers it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pino from 'pino';
import { AuthSlot, createCounterBuffer, WorkerCounters } from '../../../src/core/counters.ts';
import { resolveConfig } from '../../../src/core/options.ts';
import { createIdClockState } from '../../../src/core/session-id.ts';
import { Code } from '../../../src/protocol/codes.ts';
import { waitUntil } from '../../../src/testkit/wait.ts';
import { Session } from '../../../src/worker/session.ts';
import { SessionAuth } from '../../../src/worker/session-auth.ts';
import { SessionExpiry } from '../../../src/worker/session-expiry.ts';
import { WorkerActor } from '../../../src/worker/worker-actor.ts';
import { makeKey, sign } from '../../fixtures/auth-keys.ts';
import { VerifyingPort } from '../../fixtures/verifier-port.ts';

function session(key: number, expiresAt: number, ended: number[][]): Session {
  const ws = { end: (code: number) => ended.push([key, code]) };
  const s = new Session({ text: String(key), lo: key, hi: 0, key }, ws as never, '/', '127.0.0.1', 0);
  s.auth = new SessionAuth({ ok: true, userId: `u${key}`, expiresAt, topics: [], attributes: {} }, 0);
  return s;
}

describe('SessionExpiry', () => {
  it('lets go of sessions that ended with long tokens, without waiting for a new session to be scheduled', () => {
    const counters = new WorkerCounters(createCounterBuffer(0)).worker;
    const expiry = new SessionExpiry(counters);
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    const sessions = Array.from({ length: 10 }, (_, i) => session(i + 1, inAnHour, []));
    for (const s of sessions) expiry.schedule(s, false);
    assert.equal(expiry.size, 10);
    for (const s of sessions.slice(0, 9)) {
      s.closed = true;
      expiry.released(s);
    }
    assert.ok(expiry.size <= 2, `held ${expiry.size} entries for 1 open session`);
    expiry.stop();
  });

  it('closes a session at its deadline with TOKEN_EXPIRED', async () => {
    const counters = new WorkerCounters(createCounterBuffer(0)).worker;
    const expiry = new SessionExpiry(counters);
    const ended: number[][] = [];
    const past = Math.floor(Date.now() / 1000) - 1;
    expiry.schedule(session(7, past, ended), false);
    await waitUntil(() => ended.length === 1, 2000);
    assert.deepEqual(ended, [[7, Code.TOKEN_EXPIRED]]);
    assert.equal(counters[AuthSlot.EXPIRED_CLOSES], 1);
    expiry.stop();
  });
  it('the expiry close ends the connection even when the client never answers the close frame', async () => {
    const key = makeKey('HS256');
    const config = resolveConfig({ listen: { host: '127.0.0.1', port: 0 }, auth: { jwt: { keys: [{ jwk: key.jwk, algorithms: ['HS256'] }], leewaySec: 0 } } });
    const events: { type: string; port?: number }[] = [];
    const port = new VerifyingPort(config.auth!.jwt!);
    const actor = new WorkerActor({ index: 0, port: 0, config, counters: createCounterBuffer(0), idClock: createIdClockState(), authPort: port }, pino({ level: 'silent' }), (e) => events.push(e));
    actor.start();
    try {
      // exp is in whole seconds: 2 from now is at least 1 s away, so the upgrade itself is never too late.
      const token = await sign(key, { sub: 'ann' }, { expIn: 2 });
      const socket = connect(events.find((e) => e.type === 'listening')!.port!, '127.0.0.1');
      let received = Buffer.alloc(0);
      let ended = false;
      socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
      socket.on('end', () => (ended = true));
      socket.write(
        `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nAuthorization: Bearer ${token}\r\n\r\n`,
      );
      // A raw socket: it reads, and never sends the close frame back.
      await waitUntil(() => ended, 6000);
      const close = Buffer.alloc(2);
      close.writeUInt16BE(Code.TOKEN_EXPIRED);
      assert.ok(received.includes(Buffer.concat([close, Buffer.from('token expired')])), 'the close frame came first');
      socket.destroy();
    } finally {
      await actor.close(500);
    }
  });
});
