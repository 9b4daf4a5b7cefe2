import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpuPerDelivery,
  kernelPerConnection,
  kernelReading,
  linearFit,
  meminfoBytes,
  openFilesLimit,
  parseSockstat,
  project,
  pushDueMs,
  statTimesUs,
  type ProjectionInputs,
} from '../../../bench/suite/push-scale-model.ts';

const SOCKSTAT = `sockets: used 216
TCP: inuse 143 orphan 0 tw 453 alloc 146 mem 73
UDP: inuse 0 mem 0
UDPLITE: inuse 0
RAW: inuse 0
FRAG: inuse 0 memory 0
`;

const MEMINFO = `MemTotal:       24576000 kB
MemFree:        20000000 kB
Slab:             162600 kB
SReclaimable:      80000 kB
`;

describe('push-scale /proc readers', () => {
  it('parses every sockstat line into named numbers', () => {
    const s = parseSockstat(SOCKSTAT);
    assert.deepEqual(s.TCP, { inuse: 143, orphan: 0, tw: 453, alloc: 146, mem: 73 });
    assert.deepEqual(s.sockets, { used: 216 });
    assert.deepEqual(s.FRAG, { inuse: 0, memory: 0 });
    assert.deepEqual(s.UDPLITE, { inuse: 0 });
  });

  it('reads a meminfo field in bytes, NaN when absent (not a prefix match)', () => {
    assert.equal(meminfoBytes(MEMINFO, 'Slab'), 162_600 * 1024);
    assert.ok(Number.isNaN(meminfoBytes(MEMINFO, 'SUnreclaim')));
    assert.ok(Number.isNaN(meminfoBytes(MEMINFO, 'Mem')));
  });

  it('reads the soft open-file limit; unlimited is NaN', () => {
    const limits = 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            20000                20000                files     \n';
    assert.equal(openFilesLimit(limits), 20_000);
    assert.ok(Number.isNaN(openFilesLimit('Max open files            unlimited            unlimited            files')));
  });

  it('a kernel reading takes TCP inuse and mem (pages), sockets used and Slab', () => {
    assert.deepEqual(kernelReading(SOCKSTAT, MEMINFO), { tcpInuse: 143, tcpMemPages: 73, socketsUsed: 216, slabBytes: 162_600 * 1024 });
  });
});

describe('push-scale kernel bytes per connection', () => {
  it('divides the deltas by the connections, and halves them for the gateway’s side of a loopback pair', () => {
    const before = { tcpInuse: 100, tcpMemPages: 10, socketsUsed: 200, slabBytes: 100 * 2 ** 20 };
    const after = { tcpInuse: 100 + 2 * 1000, tcpMemPages: 10 + 500, socketsUsed: 2200, slabBytes: 100 * 2 ** 20 + 1000 * 8192 };
    const k = kernelPerConnection(before, after, 1000, 4096);
    assert.equal(k.tcpInuseDelta, 2000);
    assert.equal(k.socketsPerConnection, 2);
    assert.equal(k.tcpMemBytesDelta, 500 * 4096);
    assert.equal(k.bothEnds.tcpMemBytes, 2048);
    assert.equal(k.serverSide.tcpMemBytes, 1024);
    assert.equal(k.bothEnds.slabBytes, 8192);
    assert.equal(k.serverSide.slabBytes, 4096);
  });

  it('keeps a negative delta as measured (something else freed memory) and gives NaN for no connections', () => {
    const before = { tcpInuse: 10, tcpMemPages: 300, socketsUsed: 20, slabBytes: 1000 };
    const after = { tcpInuse: 10, tcpMemPages: 0, socketsUsed: 20, slabBytes: 1000 };
    assert.equal(kernelPerConnection(before, after, 100, 4096).bothEnds.tcpMemBytes, (-300 * 4096) / 100);
    assert.ok(Number.isNaN(kernelPerConnection(before, after, 0, 4096).serverSide.slabBytes));
  });
});

describe('push-scale CPU per delivery', () => {
  it('net of the idle cost over the same window', () => {
    // 0.5 cores over 10 s with 0.1 cores idle, 20,000 deliveries: 250 µs gross, 200 µs net.
    assert.deepEqual(cpuPerDelivery(5_000_000, 10_000_000, 0.1, 20_000), { grossUs: 250, netUs: 200 });
  });

  it('no deliveries: no figure', () => {
    const r = cpuPerDelivery(1000, 1000, 0, 0);
    assert.ok(Number.isNaN(r.grossUs) && Number.isNaN(r.netUs));
  });
});

describe('push-scale projection to a million connections', () => {
  const inputs: ProjectionInputs = {
    rssBytesPerConnection: 2000,
    processBaseRssBytes: 100 * 2 ** 20,
    kernelBytesPerConnection: 4096,
    usPerDelivery: 5,
    idleUsPerConnectionSecond: 0.5,
    idleCoresPerProcess: 0.01,
    openFilesLimit: 20_000,
    baseOpenFiles: 40,
  };

  it('processes come from the open files a process has left after its own', () => {
    const p = project(inputs);
    assert.equal(p.connectionsPerProcess, 19_960);
    assert.equal(p.processes, Math.ceil(1_000_000 / 19_960)); // 51
    assert.equal(p.processes, 51);
  });

  it('memory is per-connection RSS and kernel bytes plus each process’s base RSS', () => {
    const p = project(inputs);
    assert.equal(p.userBytes, 1_000_000 * 2000 + 51 * 100 * 2 ** 20);
    assert.equal(p.kernelBytes, 1_000_000 * 4096);
    assert.equal(p.totalBytes, p.userBytes + p.kernelBytes);
  });

  it('cores are deliveries × µs per delivery, idle cost per connection, and each process’s idle cost', () => {
    const p = project(inputs);
    assert.equal(p.deliveriesPerSecond, 1_000_000);
    assert.equal(p.deliveryCores, 5);
    assert.equal(p.idleCores, 0.5);
    assert.ok(Math.abs(p.processCores - 0.51) < 1e-12);
    assert.ok(Math.abs(p.cores - 6.01) < 1e-12);
  });

  it('scales with the connections and the push rate given', () => {
    const p = project(inputs, 19_960, 2);
    assert.equal(p.processes, 1);
    assert.equal(p.deliveriesPerSecond, 39_920);
    assert.ok(Math.abs(p.deliveryCores - (39_920 * 5) / 1e6) < 1e-12);
  });

  it('a negative idle cost (noise) counts as none', () => {
    assert.equal(project({ ...inputs, idleUsPerConnectionSecond: -3 }).idleCores, 0);
  });
});

describe('push-scale pacing', () => {
  it('spreads one push per topic evenly over each second', () => {
    assert.deepEqual([0, 1, 99, 100, 250].map((i) => pushDueMs(i, 100)), [0, 10, 990, 1000, 2500]);
  });
});

describe('push-scale fits and CPU times', () => {
  it('a least-squares line: slope per connection and the intercept at none', () => {
    const fit = linearFit([
      [1000, 100_000 + 1000 * 3000],
      [2000, 100_000 + 2000 * 3000 + 500],
      [3000, 100_000 + 3000 * 3000 - 500],
      [4000, 100_000 + 4000 * 3000],
    ]);
    assert.ok(Math.abs(fit.slope - 2999.9) < 1e-9, `slope ${fit.slope}`);
    assert.ok(Math.abs(fit.intercept - (100_000 + 250)) < 1e-6, `intercept ${fit.intercept}`);
  });

  it('no line through one point or one x', () => {
    assert.ok(Number.isNaN(linearFit([[5, 5]]).slope));
    assert.ok(Number.isNaN(linearFit([[5, 5], [5, 6]]).intercept));
  });

  it('user and system time from a stat line whose command name holds spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const line = '4242 (node (main) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0 100 0 0';
    assert.deepEqual(statTimesUs(line, 100), { userUs: 2_500_000, systemUs: 750_000 });
  });
});
