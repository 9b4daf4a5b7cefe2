/**
 * A clock shared by every process on the machine. `performance.now()` counts from a per-process origin, and
 * `performance.timeOrigin` is a wall-clock reading (NTP may step it between two processes' starts); CLOCK_MONOTONIC,
 * which `process.hrtime` reads, is one clock for the whole machine. The offset is taken once, so a reading costs one
 * `performance.now()` call.
 */
const offsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();

/** Milliseconds on CLOCK_MONOTONIC (comparable between processes on this machine). */
export function monoMs(): number {
  return offsetMs + performance.now();
}
