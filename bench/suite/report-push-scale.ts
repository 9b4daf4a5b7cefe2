/** The push-scale subsection of the suite's report: what the scenario measured, and what it projects to a million connections. */
import { fmt, ms, table } from '../lib/markdown.ts';
import type { PushScaleResult } from './push-scale.ts';

const MIB = 2 ** 20;
const GIB = 2 ** 30;
const mib = (bytes: number) => fmt(bytes / MIB, 1);
const kib = (bytes: number, digits = 2) => fmt(bytes / 1024, digits);
const gib = (bytes: number) => fmt(bytes / GIB, 1);

function figuresTable(r: PushScaleResult): string {
  const s = r.settings;
  const p = r.push;
  const k = r.kernel;
  const per = k.perConnection;
  const held = r.rss.points.at(-1)?.connections ?? 0;
  const pageKiB = (pages: number) => `${fmt(pages)} pages (${mib(pages * r.pageSize)} MiB)`;
  const rows: string[][] = [
    [
      'sessions held by the one gateway process',
      `${fmt(held)} of ${fmt(s.connections)} (${fmt(r.sessions.failed)} failed to open${r.sessions.firstError ? `: ${r.sessions.firstError}` : ''}; per worker ${r.sessions.perWorker.map((n) => fmt(n)).join(' / ')})`,
      `closed by the gateway: ${fmt(r.sessions.lostBeforePush)} before the push window, ${fmt(r.sessions.lostAfterPush)} during or after it`,
    ],
    ['open files of the gateway', `${fmt(r.openFiles.base)} with no connections, ${fmt(r.openFiles.connected)} with all`, `limit ${fmt(r.gatewayOpenFilesLimit)} (each receiver process: ${fmt(r.receiverOpenFilesLimit)})`],
    ['pushes', `${fmt(s.topics)} topics × ${fmt(s.connections / s.topics)} sessions, ${fmt(s.topics)} pushes/s (one per topic per second, ${fmt(1000 / s.topics, 0)} ms apart)`, `${s.warmupSeconds} s warm-up, ${fmt(p.windowMs / 1000, 1)} s measured; ${s.payloadBytes} B payload`],
    ['deliveries in the measured window', `**${fmt(p.received)} received of ${fmt(p.expected)} expected** (${fmt(p.expected - p.received)} missing)`, `per session ${fmt(p.perSessionMin)}–${fmt(p.perSessionMax)} (expected ${s.measureSeconds} each)`],
    [
      'the gateway’s own count (whole stream)',
      p.gatewaySummary === null ? `stream failed: ${p.streamError ?? '?'}` : `${fmt(p.gatewaySummary.accepted)} pushes accepted, ${fmt(p.gatewaySummary.delivered)} deliveries, ${fmt(p.gatewaySummary.dropped)} dropped`,
      `${fmt(p.sent)} pushes sent`,
    ],
    ['push-to-delivery latency p50 / p99 / p99.9 / max', `**${ms(p.latency.p50)} / ${ms(p.latency.p99)} / ${ms(p.latency.p999)} / ${ms(p.latency.max)} ms**`, `${fmt(p.latency.count)} deliveries in the histogram`],
    ['latency p50 / p99 of the first half / the second half', `${ms(p.halves.first.p50)} / ${ms(p.halves.first.p99)} ms / ${ms(p.halves.second.p50)} / ${ms(p.halves.second.p99)} ms`, 'a backlog that grows through the window makes the second half slower'],
    ['receiver event-loop delay p99 / max (worst process)', `${ms(p.receiverLoopDelay.p99, 3)} / ${ms(p.receiverLoopDelay.max)} ms`, 'how late a receiver could have read (and timed) a delivery'],
    ['publisher timer lateness p50 / p99 / max', `${ms(p.publisherLateness.p50, 3)} / ${ms(p.publisherLateness.p99, 3)} / ${ms(p.publisherLateness.max)} ms`, 'not in the latency (each push is stamped when it is written)'],
    ['gateway CPU in the push window', `${fmt(p.cpu.gateway, 3)} cores (${fmt((100 * p.cpu.gatewaySystem) / p.cpu.gateway, 0)}% in the kernel): **${fmt(p.usPerDeliveryGross, 2)} µs per delivery** (${fmt(p.usPerDeliveryNet, 2)} net of the idle cost)`, `busiest gateway thread ${fmt(p.cpu.gatewayBusiestThread, 2)} cores; receivers ${fmt(p.cpu.receivers, 2)}, publisher ${fmt(p.cpu.publisher, 2)}; machine ${fmt(p.cpu.machine, 2)} busy, of which other work ${fmt(p.cpu.other, 2)}, steal ${fmt(p.cpu.steal, 2)}`],
    [
      'gateway CPU idle',
      `${fmt(r.idle.baseCores, 3)} cores with no connections; ${fmt(r.idle.connectedCores, 3)} with all ${fmt(held)}`,
      `over ${fmt(s.baseIdleMs / 1000)} s and ${fmt(s.idleMs / 1000)} s (ping interval ${fmt(r.pingIntervalMs / 1000)} s): ` +
        (r.idle.connectedCores > r.idle.baseCores ? `${fmt(r.idle.usPerConnectionSecond, 2)} µs per connection-second` : 'no cost per connection measurable above the idle process’s own noise'),
    ],
    ['gateway RSS', `${r.rss.points.map((pt) => `${mib(pt.rssBytes)} MiB at ${fmt(pt.connections)}`).join(', ')}; ${mib(r.rss.afterPushBytes)} MiB after the push window`, r.rss.bytesPerConnection > 0
        ? `**${fmt(r.rss.bytesPerConnection)} bytes per subscribed connection** (least-squares slope over the steps with connections; ${mib(r.rss.interceptBytes)} MiB at none on that line)`
        : `no slope: RSS fell while sessions were added (fit ${fmt(r.rss.bytesPerConnection)} B per connection): V8 handed memory back mid-run`],
    ['TCP sockets in use (sockstat `inuse`)', `${fmt(k.before.tcpInuse)} → ${fmt(k.connected.tcpInuse)} (+${fmt(per.tcpInuseDelta)})`, `${fmt(per.socketsPerConnection, 2)} per connection: both ends are on this machine`],
    [
      'TCP socket buffer memory (sockstat `mem`)',
      `${pageKiB(k.before.tcpMemPages)} → ${pageKiB(k.connected.tcpMemPages)} idle${k.underPush === null ? '' : ` → ${pageKiB(k.underPush.tcpMemPages)} mid-window`}`,
      `${kib(per.bothEnds.tcpMemBytes)} KiB per connection both ends, **${kib(per.serverSide.tcpMemBytes)} KiB the gateway’s half** (page ${fmt(r.pageSize)} B)`,
    ],
    ['kernel slab (/proc/meminfo `Slab`)', `${mib(k.before.slabBytes)} → ${mib(k.connected.slabBytes)} MiB`, `${kib(per.bothEnds.slabBytes)} KiB per connection both ends, **${kib(per.serverSide.slabBytes)} KiB the gateway’s half**`],
  ];
  return table(['figure', 'measured', 'detail'], rows, ['left', 'left', 'left']);
}

function projectionTable(r: PushScaleResult): string {
  const m = r.inputs;
  const j = r.projection;
  // RSS that fell while connections were added (V8 handing memory back mid-run) gives no slope to project from.
  const rssMeasured = m.rssBytesPerConnection > 0;
  const rows: string[][] = [
    ['processes', `${fmt(m.openFilesLimit)} open files − ${fmt(m.baseOpenFiles)} a gateway holds by itself = ${fmt(j.connectionsPerProcess)} connections each`, `**${fmt(j.processes)}**`],
    ['user memory', `${fmt(m.rssBytesPerConnection)} B per connection + ${mib(m.processBaseRssBytes)} MiB per process (the fitted line at no connections)`, rssMeasured ? `${gib(j.userBytes)} GiB` : '– (no RSS slope in this run)'],
    ['kernel memory', `${kib(m.kernelBytesPerConnection)} KiB per connection (socket buffers + slab, the gateway’s half)`, `${gib(j.kernelBytes)} GiB`],
    ['memory in all', '', rssMeasured ? `**${gib(j.totalBytes)} GiB**` : '–'],
    ['deliveries', `${fmt(j.pushesPerConnectionSecond)} push a second per connection`, `${fmt(j.deliveriesPerSecond)}/s`],
    ['cores for deliveries', `${fmt(m.usPerDelivery, 2)} µs per delivery`, fmt(j.deliveryCores, 2)],
    ['cores for idle connections', `${fmt(m.idleUsPerConnectionSecond, 2)} µs per connection-second (pings, timers)`, fmt(j.idleCores, 2)],
    ['cores for the processes themselves', `${fmt(m.idleCoresPerProcess, 3)} cores per idle process`, fmt(j.processCores, 2)],
    ['cores in all', '', `**${fmt(j.cores, 1)}**`],
  ];
  return table(['for 1,000,000 connections', 'from', 'needs'], rows, ['left', 'left']);
}

export function renderPushScale(r: PushScaleResult | null | undefined): string {
  if (r == null) return '';
  const s = r.settings;
  return `### ${fmt(s.connections)} connections with a push each second

**Setup.** One actorgate process (2 workers, from \`dist/\`${(s.gatewayNodeArgs ?? []).length > 0 ? `, run with \`node ${s.gatewayNodeArgs.join(' ')}\`` : ''}, push port open,
\`topics.allow: ["bench.*"]\`, the suite's limits otherwise) holds ${fmt(s.connections)} idle WebSocket sessions opened by ${s.receiverProcesses} receiver
processes (\`bench/suite/loadgen-push-process.ts\`; every process here, the gateway included, may open
${fmt(r.gatewayOpenFilesLimit)} files). Session *i* subscribes to topic \`bench.scale.<i mod ${s.topics}>\`: ${s.topics}
topics of ${fmt(s.connections / s.topics)} sessions. A logic server (\`bench/suite/push-scale-publisher.ts\`, in the
driver process) sends every topic one push a second on one gRPC \`PushStream\`, spread evenly over the second, so each
session receives one push a second and the gateway delivers ${fmt(s.connections)} a second. Each push carries the
time it was written to the stream on CLOCK_MONOTONIC, which every process here shares; the receiver timestamps the
read that brought it, and the difference goes into a log-linear histogram. Deliveries are counted per session, so
nothing is lost silently. Before the pushes (after ${fmt(Math.min(1000, s.connections))} sessions opened and closed, so first-use
allocations are not counted per connection): RSS with no connections and after each quarter of them, each read no
sooner than ${fmt(s.settleMs / 1000)} s after its step and once it has stopped moving (V8 hands memory back a few
seconds after a burst of allocation, by more than the connections add, which is why this run turns its memory
reducer off: RSS then follows what is kept); the gateway's CPU over ${fmt(s.baseIdleMs / 1000)} s with none and over one ping interval
(${fmt(s.idleMs / 1000)} s) with all of them idle; /proc/net/sockstat and /proc/meminfo before connecting and with
every session open. Both ends of every connection are sockets of this machine, so the kernel's counts grow by two
sockets per connection; the gateway's share is taken as half (both ends are the same idle loopback TCP sockets).
The kernel readings are machine-wide: other work on the machine moves them too (the \`inuse\` delta shows by how
much; a delta below zero means something else released more than these connections took, and the projection
counts it as none). Idle loopback sockets hold next to no buffer memory, so \`mem\` stays small; the slab
(struct sock, inode, dentry, file, epoll item per socket) is where an idle connection's kernel memory goes.
Run alone with \`node --import tsx bench/suite/push-scale-main.ts\`.

${figuresTable(r)}

**On paper: 1,000,000 connections, one push a second each.** Every measured slope scaled linearly: the same
${s.payloadBytes} B payload, ${fmt(s.connections / s.topics)} subscribers per topic, one push a second per connection, idle
clients that only answer pings, gateway processes of 2 workers each holding as many connections as the open-file
limit leaves (one descriptor per connection), nothing shared between processes. Memory is the RSS slope per
connection plus each process's own base RSS, and the kernel's per-connection share. Cores are the delivery cost at
the measured µs per delivery (net of the idle cost), the idle cost per connection (pings) and each process's own
idle cost. The µs per delivery include the gateway's kernel time, and on loopback a socket write also runs the
receiving socket's TCP processing in the writer's kernel time, so over a real network the gateway's share is
smaller by up to that part (the host still pays it, on the cores taking the NIC's interrupts).
Not included: the clients, the logic servers, the push fan-out between processes (each process would
take its own copy of every push, or Redis would carry it) and headroom for bursts.

${projectionTable(r)}`;
}
