/**
 * REFRESH (docs/PROTOCOL.md §3, §11) in a worker actor run in-process: a real uWS app and real clients, and a
 * verifier port that runs the real JwtVerifier on keys made here (test/fixtures/verifier-port.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { AuthSlot, createCounterBuffer, RefreshOutcomes, WorkerCounters } from '../../../src/core/counters.ts';
import { resolveConfig } from '../../../src/core/options.ts';
import { createIdClockState } from '../../../src/core/session-id.ts';
import { Code } from '../../../src/protocol/codes.ts';
import { connectClient } from '../../../src/testkit/protocol-client.ts';
import { waitUntil } from '../../../src/testkit/wait.ts';
import { AuthClient } from '../../../src/worker/auth-client.ts';
import { ClientSender } from '../../../src/worker/client-sender.ts';
import { Session } from '../../../src/worker/session.ts';
import { SessionAuth } from '../../../src/worker/session-auth.ts';
import { SessionExpiry } from '../../../src/worker/session-expiry.ts';
import type { SessionSweeper } from '../../../src/worker/session-sweeper.ts';
import { TokenRefresh } from '../../../src/worker/token-refresh.ts';
import { WorkerActor } from '../../../src/worker/worker-actor.ts';
import { makeKey, sign } from '../../fixtures/auth-keys.ts';
import { VerifyingPort } from '../../fixtures/verifier-port.ts';

const A = 'https://a.example';
const B = 'https://b.example';
const key = makeKey('HS256');
const config = resolveConfig({ listen: { host: '127.0.0.1', port: 0 }, auth: { jwt: { keys: [{ jwk: key.jwk, algorithms: ['HS256'] }], issuer: [A, B], leewaySec: 0 } } });
const outcome = (name: (typeof RefreshOutcomes)[number]) => AuthSlot.REFRESH_BASE + RefreshOutcomes.indexOf(name);

describe('TokenRefresh', () => {
  it("accepts a fresh token only for the session's own sub of its own iss, and tells the verifier whose session it is", async () => {
    const buffer = createCounterBuffer(0);
    const port = new VerifyingPort(config.auth!.jwt!);
    const events: { type: string; port?: number }[] = [];
    const actor = new WorkerActor({ index: 0, port: 0, config, counters: buffer, idClock: createIdClockState(), authPort: port }, pino({ level: 'silent' }), (e) => events.push(e));
    actor.start();
    const listening = events.find((e) => e.type === 'listening')!;
    const counters = new WorkerCounters(buffer).worker;
    try {
      const client = await connectClient(`ws://127.0.0.1:${listening.port}/`, { headers: { Authorization: `Bearer ${await sign(key, { iss: A, sub: '42' })}` } });
      const later = Math.floor(Date.now() / 1000) + 7200;
      // The same sub from another issuer is another user: user pushes and hashBy "user" must not merge the two.
      client.refresh(await sign(key, { iss: B, sub: '42', exp: later }, { expIn: null }));
      assert.deepEqual(await client.waitForControl('refresh-result'), { type: 'refresh-result', code: Code.UNAUTHORIZED, expiresAt: 0 });
      client.refresh(await sign(key, { iss: A, sub: '42', exp: later }, { expIn: null }));
      assert.deepEqual(await client.waitForControl('refresh-result'), { type: 'refresh-result', code: 0, expiresAt: later });
      assert.deepEqual(port.requests.filter((r) => r.refresh === true).map((r) => r.userId), ['42', '42'], "each REFRESH names the session's user");
      assert.equal(counters[outcome('ok')], 1);
      assert.equal(counters[outcome('invalid')], 1);
      await client.close();
    } finally {
      await actor.close(500);
    }
  });

  it("sends its verdict corked: it arrives on the port's callback, outside uWS's handlers", async () => {
    const counters = new WorkerCounters(createCounterBuffer(0)).worker;
    const port = new VerifyingPort(config.auth!.jwt!);
    const client = new AuthClient(port, 5000, counters);
    const expiry = new SessionExpiry(counters);
    const refresh = new TokenRefresh(config.auth!, client, expiry, new ClientSender(counters, { overflowed() {} } as unknown as SessionSweeper), counters);
    // A socket that records, for each send, whether it was made inside its own cork.
    const ws = {
      corked: false,
      sends: [] as boolean[],
      cork(cb: () => void) {
        this.corked = true;
        cb();
        this.corked = false;
      },
      send() {
        this.sends.push(this.corked);
        return 1;
      },
      getBufferedAmount: () => 0,
    };
    const session = new Session({ text: '1', lo: 1, hi: 0, key: 1 }, ws as never, '/', '127.0.0.1', 0);
    session.auth = new SessionAuth({ ok: true, userId: '42', issuer: A, expiresAt: 0, topics: [], attributes: {} }, 0);
    refresh.handle(session, new TextEncoder().encode(await sign(key, { iss: A, sub: '42' })));
    await waitUntil(() => ws.sends.length === 1, 2000);
    assert.deepEqual(ws.sends, [true]);
    expiry.stop();
    client.close();
  });
});
