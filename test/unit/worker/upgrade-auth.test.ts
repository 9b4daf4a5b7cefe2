/**
 * The upgrade's early token checks (docs/PROTOCOL.md §11): what is refused before any verification is asked for. The
 * request and response are stand-ins for uWS's (they are valid only inside its handler); the verifier port runs the
 * real JwtVerifier and records what it is asked (test/fixtures/verifier-port.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type uWS from 'uWebSockets.js';
import { MAX_TOKEN_BYTES } from '../../../src/auth/auth-verdict.ts';
import { createCounterBuffer, WorkerCounters } from '../../../src/core/counters.ts';
import { resolveAuth } from '../../../src/core/options-auth.ts';
import { Code } from '../../../src/protocol/codes.ts';
import { waitUntil } from '../../../src/testkit/wait.ts';
import { AuthClient } from '../../../src/worker/auth-client.ts';
import { UpgradeAuth } from '../../../src/worker/upgrade-auth.ts';
import { makeKey } from '../../fixtures/auth-keys.ts';
import { VerifyingPort } from '../../fixtures/verifier-port.ts';

/** A response that records its status and body. */
function response() {
  const res = {
    status: '',
    body: undefined as string | undefined,
    writeStatus(status: string) {
      res.status = status;
      return res;
    },
    writeHeader: () => res,
    end(body: string) {
      res.body = body;
      return res;
    },
    cork(cb: () => void) {
      cb();
      return res;
    },
    onAborted: () => res,
  };
  return res;
}

const request = (authorization: string) => ({ getHeader: (name: string) => (name === 'authorization' ? authorization : ''), getQuery: () => undefined });

describe('UpgradeAuth', () => {
  it(`counts a token's length in UTF-8 bytes: one over ${MAX_TOKEN_BYTES} bytes is refused at once, whatever its length in characters`, async () => {
    const auth = resolveAuth({ jwt: { keys: [{ jwk: makeKey('HS256').jwk, algorithms: ['HS256'] }] } })!;
    const port = new VerifyingPort(auth.jwt!);
    const counters = new WorkerCounters(createCounterBuffer(0)).worker;
    const upgrade = new UpgradeAuth(auth, new AuthClient(port, 5000, counters), counters, () => undefined);
    // 2731 characters of 3 bytes each: 8193 bytes.
    const token = '€'.repeat(Math.ceil((MAX_TOKEN_BYTES + 1) / 3));
    const res = response();
    upgrade.authenticate(res as unknown as uWS.HttpResponse, request(`Bearer ${token}`) as unknown as uWS.HttpRequest, { path: '/', remoteAddress: '10.0.0.1' }, () => assert.fail('accepted'), () => {});
    await waitUntil(() => res.body !== undefined, 2000);
    assert.equal(res.status, '401 Unauthorized');
    assert.deepEqual(JSON.parse(res.body!), { code: Code.UNAUTHORIZED, name: 'UNAUTHORIZED', reason: `token longer than ${MAX_TOKEN_BYTES} bytes` });
    assert.equal(port.requests.length, 0, 'refused before any verification was asked for');
  });
});
