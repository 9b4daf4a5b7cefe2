/**
 * The arithmetic of the push-scale scenario, apart from the processes that measure it (so it can be tested): reading
 * /proc/net/sockstat, /proc/meminfo and /proc/<pid>/limits, kernel bytes per connection from two readings, CPU per
 * delivery net of the idle cost, and the projection of the measured slopes to a million connections.
 */

/** /proc/net/sockstat as numbers: `sockstat.TCP.inuse`, `sockstat.TCP.mem` (pages), `sockstat.sockets.used`. */
export type Sockstat = Record<string, Record<string, number>>;

/** Parses lines such as `TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1` into `{ TCP: { inuse: 5, …, mem: 1 } }`. */
export function parseSockstat(text: string): Sockstat {
  const out: Sockstat = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const words = line.slice(colon + 1).trim().split(/\s+/);
    const fields: Record<string, number> = {};
    for (let i = 0; i + 1 < words.length; i += 2) {
      const value = Number(words[i + 1]);
      if (Number.isFinite(value)) fields[words[i]!] = value;
    }
    out[line.slice(0, colon).trim()] = fields;
  }
  return out;
}

/** A field of /proc/meminfo in bytes (`Slab:  1234 kB` → 1234 × 1024); NaN when absent. */
export function meminfoBytes(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match === null ? Number.NaN : Number(match[1]) * 1024;
}

/** The soft limit on open files from /proc/<pid>/limits; NaN when absent or unlimited. */
export function openFilesLimit(limitsText: string): number {
  const match = /^Max open files\s+(\d+)/m.exec(limitsText);
  return match === null ? Number.NaN : Number(match[1]);
}

/** One reading of the kernel's socket accounting and slab, machine-wide. */
export interface KernelReading {
  tcpInuse: number;
  /** TCP socket buffer memory the kernel has charged (sockstat `mem`), pages. */
  tcpMemPages: number;
  socketsUsed: number;
  /** Slab (SReclaimable + SUnreclaim) from /proc/meminfo, bytes: struct sock, inodes, dentries, epoll items, ... */
  slabBytes: number;
}

export function kernelReading(sockstatText: string, meminfoText: string): KernelReading {
  const s = parseSockstat(sockstatText);
  return {
    tcpInuse: s.TCP?.inuse ?? Number.NaN,
    tcpMemPages: s.TCP?.mem ?? Number.NaN,
    socketsUsed: s.sockets?.used ?? Number.NaN,
    slabBytes: meminfoBytes(meminfoText, 'Slab'),
  };
}

/**
 * Kernel memory added by `connections` loopback connections between two readings. Both ends are sockets of this
 * machine (the gateway's and the load generator's), so the deltas count two sockets per connection; `serverSide` is
 * half of each, the gateway's share if both ends cost alike (they are the same idle TCP sockets on loopback).
 */
export interface KernelPerConnection {
  tcpInuseDelta: number;
  /** Sockets per connection by the TCP inuse count: 2 when nothing else on the machine opened or closed any. */
  socketsPerConnection: number;
  tcpMemBytesDelta: number;
  slabBytesDelta: number;
  bothEnds: { tcpMemBytes: number; slabBytes: number };
  serverSide: { tcpMemBytes: number; slabBytes: number };
}

export function kernelPerConnection(before: KernelReading, after: KernelReading, connections: number, pageSize: number): KernelPerConnection {
  const tcpMemBytesDelta = (after.tcpMemPages - before.tcpMemPages) * pageSize;
  const slabBytesDelta = after.slabBytes - before.slabBytes;
  const tcpInuseDelta = after.tcpInuse - before.tcpInuse;
  const per = (bytes: number) => (connections > 0 ? bytes / connections : Number.NaN);
  return {
    tcpInuseDelta,
    socketsPerConnection: per(tcpInuseDelta),
    tcpMemBytesDelta,
    slabBytesDelta,
    bothEnds: { tcpMemBytes: per(tcpMemBytesDelta), slabBytes: per(slabBytesDelta) },
    serverSide: { tcpMemBytes: per(tcpMemBytesDelta) / 2, slabBytes: per(slabBytesDelta) / 2 },
  };
}

/**
 * Gateway CPU per delivery: over the push window, minus what the same connections cost idle over as long (pings,
 * timers), per delivery. `gross` counts all of it.
 */
export function cpuPerDelivery(pushCpuUs: number, pushWindowUs: number, idleCores: number, deliveries: number): { grossUs: number; netUs: number } {
  if (deliveries <= 0) return { grossUs: Number.NaN, netUs: Number.NaN };
  return { grossUs: pushCpuUs / deliveries, netUs: (pushCpuUs - idleCores * pushWindowUs) / deliveries };
}

/** The measured slopes a projection starts from. */
export interface ProjectionInputs {
  /** Gateway RSS per connection (subscribed, idle), bytes: the least-squares slope of the steps. */
  rssBytesPerConnection: number;
  /** Gateway RSS with no connections, bytes: each extra process pays it again. */
  processBaseRssBytes: number;
  /** Kernel bytes per connection on the gateway's side (socket buffers + slab). */
  kernelBytesPerConnection: number;
  /** Gateway CPU per delivered push, µs, net of the idle cost. */
  usPerDelivery: number;
  /** Gateway CPU per idle connection per second, µs (pings and timers); 0 when it was not measurable. */
  idleUsPerConnectionSecond: number;
  /** Cores one gateway process uses with no connections at all. */
  idleCoresPerProcess: number;
  /** The open-file limit of one process (one descriptor per connection). */
  openFilesLimit: number;
  /** Descriptors a gateway process holds with no connections (listening sockets, pipes, epoll, gRPC). */
  baseOpenFiles: number;
}

export interface Projection {
  connections: number;
  pushesPerConnectionSecond: number;
  connectionsPerProcess: number;
  processes: number;
  userBytes: number;
  kernelBytes: number;
  totalBytes: number;
  deliveriesPerSecond: number;
  deliveryCores: number;
  idleCores: number;
  processCores: number;
  cores: number;
}

/**
 * What `connections` connections with `pushesPerConnectionSecond` pushes each need, scaling every measured slope
 * linearly: memory (per-connection RSS + each process's base RSS + kernel per connection), cores (deliveries × µs per
 * delivery + idle cost per connection + each process's idle cost), and processes (one descriptor per connection under
 * the open-file limit, less what a process holds by itself).
 */
export function project(m: ProjectionInputs, connections = 1_000_000, pushesPerConnectionSecond = 1): Projection {
  const connectionsPerProcess = Math.max(1, m.openFilesLimit - m.baseOpenFiles);
  const processes = Math.ceil(connections / connectionsPerProcess);
  const userBytes = connections * m.rssBytesPerConnection + processes * m.processBaseRssBytes;
  const kernelBytes = connections * m.kernelBytesPerConnection;
  const deliveriesPerSecond = connections * pushesPerConnectionSecond;
  const deliveryCores = (deliveriesPerSecond * m.usPerDelivery) / 1e6;
  const idleCores = (connections * Math.max(0, m.idleUsPerConnectionSecond)) / 1e6;
  const processCores = processes * m.idleCoresPerProcess;
  return {
    connections,
    pushesPerConnectionSecond,
    connectionsPerProcess,
    processes,
    userBytes,
    kernelBytes,
    totalBytes: userBytes + kernelBytes,
    deliveriesPerSecond,
    deliveryCores,
    idleCores,
    processCores,
    cores: deliveryCores + idleCores + processCores,
  };
}

/** Push `index` of a run at `topics` pushes a second, spread evenly: due this many ms after the run's start. */
export function pushDueMs(index: number, topics: number): number {
  return (index * 1000) / topics;
}

/** The topic of the scenario's topic `index` (the gateway allows bench.*). */
export function topicName(index: number): string {
  return `bench.scale.${index}`;
}

/** Least-squares line through `points` ([x, y]); NaN for fewer than two distinct x. */
export function linearFit(points: readonly (readonly [number, number])[]): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) return { slope: Number.NaN, intercept: Number.NaN };
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  if (den === 0) return { slope: Number.NaN, intercept: Number.NaN };
  const slope = num / den;
  return { slope, intercept: my - slope * mx };
}

/**
 * User and system CPU time of a /proc/<pid>/stat line, µs. System time is the kernel working for the process: on
 * loopback a socket write also runs the receiving end's TCP processing, in the writer's system time.
 */
export function statTimesUs(line: string, ticksPerSecond: number): { userUs: number; systemUs: number } {
  // The command name may hold spaces and parentheses: count fields from the last ')'. utime and stime are 14 and 15.
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  const toUs = 1e6 / ticksPerSecond;
  return { userUs: Number(fields[11]) * toUs, systemUs: Number(fields[12]) * toUs };
}
