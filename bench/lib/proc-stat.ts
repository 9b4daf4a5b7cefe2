/**
 * CPU time from /proc (Linux): a process's user + system time over all its threads, each thread's share, and the
 * machine's busy and steal time. Resolution is one clock tick (usually 10 ms), so sample over seconds, not
 * milliseconds. Reading another process's counters costs it nothing, which is why the benchmark measures its
 * children from outside.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** USER_HZ, the unit of the /proc tick counters. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of a /proc/…/stat line, in µs. The command name may hold spaces and parentheses, so count from the last ')'. */
function cpuUsOfStat(line: string): number {
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicksPerSecond();
}

/** CPU time a process has used so far, all threads (live and ended), in µs. */
export function processCpuUs(pid: number): number {
  return cpuUsOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** CPU time each live thread of a process has used so far, in µs, keyed by thread id; the main thread's id is the pid. */
export function threadCpuUs(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.set(Number(tid), cpuUsOfStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return threads;
}

/** Machine-wide CPU time so far, summed over all cores, in µs. */
export interface MachineCpu {
  totalUs: number;
  /** Everything but idle and iowait. */
  busyUs: number;
  /** Time the hypervisor gave to another guest while this one wanted to run (a noisy neighbour). */
  stealUs: number;
}

export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number) as number[];
  const toUs = 1e6 / clockTicksPerSecond();
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { totalUs: (busy + idle! + iowait!) * toUs, busyUs: busy * toUs, stealUs: steal! * toUs };
}

/** Differences between two readings of a set of counters. */
export function threadDelta(before: Map<number, number>, after: Map<number, number>): Map<number, number> {
  const delta = new Map<number, number>();
  for (const [tid, us] of after) delta.set(tid, us - (before.get(tid) ?? 0));
  return delta;
}
