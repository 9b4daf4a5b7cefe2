/**
 * Deadlines for the testkit. Every wait either resolves on an event or rejects at its deadline with a message that
 * says what was awaited and what was seen instead; nothing here sleeps for a fixed time.
 */
import type { EventEmitter } from 'node:events';
import { ActorgateError } from '../core/errors.ts';

/** @default 5000 */
export const DEFAULT_WAIT_MS = 5000;
const POLL_INTERVAL_MS = 5;

/** A testkit wait passed its deadline. `message` names what was awaited and the state at the deadline. */
export class WaitTimeoutError extends ActorgateError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number, what: string) {
    super('ERR_ACTORGATE_TESTKIT_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}`);
    this.name = 'WaitTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Re-evaluates `check` now and whenever `emitter` emits `event`; resolves with the first result that is not
 * `undefined`. `check` may throw to fail the wait early (e.g. the connection closed, so the awaited frame can never
 * come). `describe` is called at the deadline, so the error can report the state then.
 */
export function waitForEvent<T>(
  emitter: EventEmitter,
  event: string,
  check: () => T | undefined,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let first: T | undefined;
    try {
      first = check();
    } catch (err) {
      reject(err);
      return;
    }
    if (first !== undefined) {
      resolve(first);
      return;
    }
    const onEvent = () => {
      let value: T | undefined;
      try {
        value = check();
      } catch (err) {
        finish();
        reject(err);
        return;
      }
      if (value === undefined) return;
      finish();
      resolve(value);
    };
    const timer = setTimeout(() => {
      finish();
      reject(new WaitTimeoutError(timeoutMs, describe()));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
    };
    emitter.on(event, onEvent);
  });
}

/**
 * Polls `predicate` every few milliseconds until it returns a truthy value (which the promise resolves with) or the
 * deadline passes. For state that emits no event; prefer the event-driven waits of MockBackend and ProtocolClient.
 */
export function waitUntil<T>(
  predicate: () => T | Promise<T>,
  timeoutMs: number = DEFAULT_WAIT_MS,
  message = 'condition',
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  return new Promise<NonNullable<T>>((resolve, reject) => {
    const attempt = async () => {
      let value: T;
      try {
        value = await predicate();
      } catch (err) {
        reject(err);
        return;
      }
      if (value) {
        resolve(value as NonNullable<T>);
        return;
      }
      if (performance.now() >= deadline) {
        reject(new WaitTimeoutError(timeoutMs, message));
        return;
      }
      setTimeout(attempt, POLL_INTERVAL_MS);
    };
    void attempt();
  });
}

/** Resolves or rejects as `promise` does, or rejects with a WaitTimeoutError naming `what` once `timeoutMs` passed. */
export function withDeadline<T>(promise: Promise<T>, timeoutMs: number = DEFAULT_WAIT_MS, what = 'a promise to settle'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeoutError(timeoutMs, what)), timeoutMs);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
