/** Facts about the machine a benchmark ran on, for the report header. */
import { cpus, availableParallelism, loadavg, platform, release, totalmem } from 'node:os';

export interface MachineFacts {
  date: string;
  cpuModel: string;
  cores: number;
  node: string;
  platform: string;
  kernel: string;
  memoryGiB: number;
  loadavg: number[];
}

export function machineFacts(): MachineFacts {
  return {
    date: new Date().toISOString(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    platform: platform(),
    kernel: release(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** One line: "2 cores (AMD EPYC), Node v20.20.2, linux 6.1, 7.8 GiB; load 0.7 before the run". */
export function describeMachine(m: MachineFacts): string {
  return `${m.cores} cores (${m.cpuModel}), Node ${m.node}, ${m.platform} ${m.kernel}, ${m.memoryGiB} GiB; load average ${m.loadavg.join(' / ')} at the start`;
}
