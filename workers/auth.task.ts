/**
 * Verification thread task (piscina): a thin adapter from a pool task to the JwtVerifier. No logic lives here. The
 * verifier, its keys and its JWKS caches live as long as the thread; the pool keeps its threads for its whole life.
 */
import { workerData } from 'piscina';
import { JwtVerifier } from '../src/auth/jwt-verifier.ts';
import { AuthPoolSlot, type AuthPoolData, type AuthRequest } from '../src/auth/auth-messages.ts';
import type { AuthVerdict } from '../src/auth/auth-verdict.ts';
import { createLogger } from '../src/core/logger.ts';

const data = workerData as AuthPoolData;
const counters = new Int32Array(data.counters);
const logger = createLogger(data.log, { worker: 'auth' });
const verifier = new JwtVerifier(data.jwt, (event) => {
  if (event.type === 'refreshed') {
    Atomics.add(counters, AuthPoolSlot.JWKS_FETCHED, 1);
    logger.debug(event, 'JWKS fetched');
  } else {
    Atomics.add(counters, AuthPoolSlot.JWKS_FAILED, 1);
    logger.warn(event, 'JWKS fetch failed; keeping the keys held');
  }
});
verifier.start();

export default function verify(request: AuthRequest): Promise<AuthVerdict> {
  return verifier.verify(request.token);
}
