/**
 * The two load shapes. Each run is a warm-up part and a measured part, sent back to back; pushes carry the id of
 * their part, so the receivers keep the two apart, and `onMeasure` fires at the boundary (the CPU sample).
 *
 * - fixed rate, open loop: call i is due at start + i / rate and is stamped with that time, whether or not the
 *   sender got to it on time, so a stall anywhere shows up as latency instead of as fewer samples (no coordinated
 *   omission);
 * - as fast as it goes, closed loop: `window` calls outstanding; each completion sends the next, stamped with the
 *   moment it is sent. Sending stops at the end of the measured part; the run ends when the last call completes.
 */
import { monoMs } from '../lib/clock.ts';
import type { Publisher } from './publishers.ts';

export interface RunIds {
  warm: number;
  measured: number;
}

export interface LoadResult {
  /** Pushes sent in the warm-up and in the measured part. */
  sentWarm: number;
  sentMeasured: number;
  /** monoMs() of the first measured send and of the end of sending. */
  measureStartMs: number;
  measureEndMs: number;
}

export interface FixedRateOptions {
  callsPerSecond: number;
  pushesPerCall: number;
  warmMs: number;
  measureMs: number;
}

export function fixedRate(publisher: Publisher, options: FixedRateOptions, ids: RunIds, onMeasure: () => void): Promise<LoadResult> {
  const { callsPerSecond, pushesPerCall, warmMs, measureMs } = options;
  const intervalMs = 1000 / callsPerSecond;
  const warmCalls = Math.round((warmMs * callsPerSecond) / 1000);
  const totalCalls = warmCalls + Math.round((measureMs * callsPerSecond) / 1000);
  const result: LoadResult = { sentWarm: 0, sentMeasured: 0, measureStartMs: 0, measureEndMs: 0 };
  const noop = () => {};
  return new Promise((resolve) => {
    const startMs = monoMs() + 5;
    let i = 0;
    const tick = () => {
      const due = Math.min(totalCalls, Math.floor((monoMs() - startMs) / intervalMs) + 1);
      for (; i < due; i++) {
        const scheduledMs = startMs + i * intervalMs;
        if (i === warmCalls) {
          result.measureStartMs = scheduledMs;
          onMeasure();
        }
        const measured = i >= warmCalls;
        publisher.send(scheduledMs, measured ? ids.measured : ids.warm, i * pushesPerCall, pushesPerCall, noop);
        if (measured) result.sentMeasured += pushesPerCall;
        else result.sentWarm += pushesPerCall;
      }
      if (i < totalCalls) setTimeout(tick, 1);
      else {
        result.measureEndMs = startMs + totalCalls * intervalMs;
        resolve(result);
      }
    };
    setTimeout(tick, 1);
  });
}

export interface ClosedLoopOptions {
  /** Calls outstanding at once. */
  window: number;
  pushesPerCall: number;
  warmMs: number;
  measureMs: number;
}

/** Sends in one turn of the event loop before yielding, so completions that arrive synchronously cannot starve I/O. */
const BURST = 64;

export function closedLoop(publisher: Publisher, options: ClosedLoopOptions, ids: RunIds, onMeasure: () => void): Promise<LoadResult> {
  const { window, pushesPerCall, warmMs, measureMs } = options;
  const result: LoadResult = { sentWarm: 0, sentMeasured: 0, measureStartMs: 0, measureEndMs: 0 };
  return new Promise((resolve) => {
    const warmEndMs = monoMs() + warmMs;
    const endMs = warmEndMs + measureMs;
    let outstanding = 0;
    let measuring = false;
    let seq = 0;
    let burst = 0;
    let deferred = 0;
    let kickScheduled = false;
    let resolved = false;
    const next = () => {
      const now = monoMs();
      if (now >= endMs) {
        if (result.measureEndMs === 0) result.measureEndMs = now;
        if (outstanding === 0 && !resolved) {
          resolved = true;
          resolve(result);
        }
        return;
      }
      if (!measuring && now >= warmEndMs) {
        measuring = true;
        result.measureStartMs = now;
        onMeasure();
      }
      outstanding++;
      if (measuring) result.sentMeasured += pushesPerCall;
      else result.sentWarm += pushesPerCall;
      publisher.send(now, measuring ? ids.measured : ids.warm, seq, pushesPerCall, done);
      seq += pushesPerCall;
    };
    const kick = () => {
      kickScheduled = false;
      burst = 0;
      const n = deferred;
      deferred = 0;
      for (let k = 0; k < n; k++) next();
    };
    const done = () => {
      outstanding--;
      if (++burst <= BURST) return next();
      deferred++;
      if (!kickScheduled) {
        kickScheduled = true;
        setImmediate(kick);
      }
    };
    for (let k = 0; k < window; k++) next();
  });
}
