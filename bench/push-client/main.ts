/**
 * Push-client benchmark: session pushes sent straight to the owning gateway's PushStream (`sessions: 'direct'`)
 * versus the Redis path (`sessions: 'redis'`: PUBLISH on the owner's session channel, which its worker receives),
 * both in the same run, against the same gateway, alternating.
 *
 *   npm run bench:push-client [-- --quick]
 *
 * Processes: redis-server, one gateway (`actorgate start`, 2 workers), and this driver, which is both the push client
 * and the receiving sessions (a payload carries its send time, so latency is read on one clock). Each run keeps at
 * most `--window` pushes outstanding (sent, not yet received). Reports deliveries/s, latency, and the CPU Redis and
 * the gateway spent per push (Redis: INFO cpu; the gateway: /proc). Writes bench/results/push-client.json and the
 * `push-client` section of BENCHMARKS.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { connectPushClient, type PushClient } from '../../src/push-client/index.ts';
import { connectClient, freePort, packServerId, waitUntil, type ProtocolClient } from '../../src/testkit/index.ts';
import { LogHistogram } from '../lib/histogram.ts';
import { describeMachine, machineFacts } from '../lib/machine.ts';
import { fmt, ratioOf, table, writeSection } from '../lib/markdown.ts';
import { processCpuUs } from '../lib/proc-stat.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const SESSIONS = flag('sessions', 100);
const PUSHES = flag('pushes', quick ? 20_000 : 100_000);
const WINDOW = flag('window', 2000);
const ROUNDS = flag('rounds', quick ? 1 : 3);
/** The fixed-rate part, for latency: pushes per second and seconds per run. */
const RATE = flag('rate', 5000);
const RATE_SECONDS = flag('rate-seconds', quick ? 2 : 4);
const PAYLOAD_BYTES = 64;
const SERVER_ID = packServerId({ serverType: 9 });

type Mode = 'direct' | 'redis';
interface RunResult {
  mode: Mode;
  /** null: as fast as the window allows; else pushes per second. */
  rate: number | null;
  pushes: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  redisCpuUsPerPush: number;
  gatewayCpuUsPerPush: number;
  driverCpuUsPerPush: number;
  publishes: number;
  dropped: number;
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitUntil(() => out.includes('Ready to accept connections'), 10_000, 'redis-server');
  return child;
}

async function startGateway(redisUrl: string, port: number, pushPort: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [resolve(root, 'bin/actorgate.js'), 'start', '--host', '127.0.0.1', '--port', String(port), '--push-port', String(pushPort), '--admin-port', 'off', '--workers', '2', '--redis', redisUrl, '--log-level', 'warn', '--limits-max-connections-per-ip', '0', '--redis-health-check-ms', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitUntil(() => {
    if (child.exitCode !== null) throw new Error(`gateway exited: ${out}`);
    return out.includes('Press Ctrl+C');
  }, 20_000, 'the gateway');
  return child;
}

async function redisStats(redis: Redis): Promise<{ cpuUs: number; publishes: number }> {
  const info = `${await redis.info('cpu')}\n${await redis.info('commandstats')}`;
  const num = (pattern: RegExp) => Number(pattern.exec(info)?.[1] ?? 0);
  return { cpuUs: (num(/used_cpu_user:([\d.]+)/) + num(/used_cpu_sys:([\d.]+)/)) * 1e6, publishes: num(/cmdstat_publish:calls=(\d+)/) };
}

async function runOnce(mode: Mode, rate: number | null, pusher: PushClient, sessions: ProtocolClient[], received: { count: number; latency: LogHistogram | undefined }, redis: Redis, gatewayPid: number): Promise<RunResult> {
  const latency = new LogHistogram();
  received.count = 0;
  received.latency = latency;
  const payload = Buffer.alloc(PAYLOAD_BYTES);
  const droppedBefore = Object.values(pusher.stats().dropped).reduce((a, b) => a + b, 0);
  const redisBefore = await redisStats(redis);
  const gatewayBefore = processCpuUs(gatewayPid);
  const driverBefore = process.cpuUsage();
  const start = performance.now();
  const total = rate === null ? PUSHES : rate * RATE_SECONDS;
  let sent = 0;
  while (sent < total) {
    // Fixed rate: as many as are due by now; as fast as it goes: up to the window.
    const due = rate === null ? total : Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    while (sent < due && sent - received.count < WINDOW) {
      payload.writeDoubleLE(performance.now(), 0);
      pusher.pushToSession(sessions[sent % sessions.length]!.sessionId, 1, SERVER_ID, Buffer.from(payload));
      sent++;
    }
    await new Promise((r) => (rate === null ? setImmediate(r) : setTimeout(r, 1)));
  }
  await waitUntil(() => received.count >= total, 60_000, `${mode}: all pushes delivered (${received.count}/${total})`);
  const seconds = (performance.now() - start) / 1000;
  const gatewayCpuUs = processCpuUs(gatewayPid) - gatewayBefore;
  const driver = process.cpuUsage(driverBefore);
  const redisAfter = await redisStats(redis);
  received.latency = undefined;
  return {
    mode,
    rate,
    pushes: total,
    seconds,
    perSecond: total / seconds,
    p50Ms: latency.quantile(0.5) / 1000,
    p99Ms: latency.quantile(0.99) / 1000,
    // One INFO call per side is in the delta too: negligible against tens of thousands of pushes.
    redisCpuUsPerPush: (redisAfter.cpuUs - redisBefore.cpuUs) / total,
    gatewayCpuUsPerPush: gatewayCpuUs / total,
    driverCpuUsPerPush: (driver.user + driver.system) / total,
    publishes: redisAfter.publishes - redisBefore.publishes,
    dropped: Object.values(pusher.stats().dropped).reduce((a, b) => a + b, 0) - droppedBefore,
  };
}

function mean(results: RunResult[], key: keyof RunResult): number {
  return results.reduce((sum, r) => sum + (r[key] as number), 0) / results.length;
}

async function main(): Promise<void> {
  const machine = machineFacts();
  const redisPort = await freePort();
  const redisChild = await startRedis(redisPort);
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const [port, pushPort] = [await freePort(), await freePort()];
  const gateway = await startGateway(redisUrl, port, pushPort);
  const redis = new Redis(redisUrl);
  const received: { count: number; latency: LogHistogram | undefined } = { count: 0, latency: undefined };
  const sessions: ProtocolClient[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const client = await connectClient(`ws://127.0.0.1:${port}/`);
    // Count from the socket, not the testkit's frame list (which would keep every frame).
    client.ws.removeAllListeners('message');
    client.ws.on('message', (data: Buffer) => {
      if (((data.readUInt32LE(4) >>> 8) & 0xff) === 0) return;
      received.count++;
      received.latency?.record((performance.now() - data.readDoubleLE(8)) * 1000);
    });
    sessions.push(client);
  }
  const pushers: Record<Mode, PushClient> = {
    direct: await connectPushClient({ redis: { url: redisUrl }, sessions: 'direct', maxBuffered: 1 << 20 }),
    redis: await connectPushClient({ redis: { url: redisUrl }, sessions: 'redis' }),
  };
  await waitUntil(() => pushers.direct.stats().gateways.some((g) => g.state === 'open'), 10_000, 'the direct stream');
  const results: RunResult[] = [];
  try {
    // Warm-up, both sides, not reported.
    for (const mode of ['direct', 'redis'] as const) await runOnce(mode, null, pushers[mode], sessions, received, redis, gateway.pid!);
    for (let round = 0; round < ROUNDS; round++) {
      const order: Mode[] = round % 2 === 0 ? ['direct', 'redis'] : ['redis', 'direct'];
      for (const rate of [null, RATE]) for (const mode of order) {
        const result = await runOnce(mode, rate, pushers[mode], sessions, received, redis, gateway.pid!);
        results.push(result);
        process.stdout.write(`${mode.padEnd(6)} ${rate === null ? 'max ' : `${rate}/s`} ${fmt(result.perSecond)} pushes/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  redis ${result.redisCpuUsPerPush.toFixed(2)} µs/push  gateway ${result.gatewayCpuUsPerPush.toFixed(2)} µs/push  driver ${result.driverCpuUsPerPush.toFixed(2)} µs/push  publishes ${result.publishes}  dropped ${result.dropped}\n`);
      }
    }
  } finally {
    await pushers.direct.close();
    await pushers.redis.close();
    for (const s of sessions) s.terminate();
    gateway.kill('SIGKILL');
    await once(gateway, 'exit');
    redis.disconnect();
    redisChild.kill('SIGKILL');
  }
  const direct = results.filter((r) => r.mode === 'direct' && r.rate === null);
  const viaRedis = results.filter((r) => r.mode === 'redis' && r.rate === null);
  const directPaced = results.filter((r) => r.mode === 'direct' && r.rate !== null);
  const redisPaced = results.filter((r) => r.mode === 'redis' && r.rate !== null);
  mkdirSync(resolve(root, 'bench/results'), { recursive: true });
  writeFileSync(resolve(root, 'bench/results/push-client.json'), `${JSON.stringify({ machine, settings: { SESSIONS, PUSHES, WINDOW, ROUNDS, PAYLOAD_BYTES }, results }, null, 2)}\n`);
  if (args.includes('--no-markdown')) return;
  const row = (name: string, rs: RunResult[]) => [name, fmt(mean(rs, 'perSecond')), mean(rs, 'redisCpuUsPerPush').toFixed(2), mean(rs, 'gatewayCpuUsPerPush').toFixed(2), mean(rs, 'driverCpuUsPerPush').toFixed(2), fmt(mean(rs, 'publishes')), fmt(mean(rs, 'dropped'))];
  const pacedRow = (name: string, rs: RunResult[]) => [name, mean(rs, 'p50Ms').toFixed(2), mean(rs, 'p99Ms').toFixed(2), mean(rs, 'redisCpuUsPerPush').toFixed(2), mean(rs, 'gatewayCpuUsPerPush').toFixed(2), fmt(mean(rs, 'publishes')), fmt(mean(rs, 'dropped'))];
  const body = `## Push client: direct session pushes versus the Redis path

\`npm run bench:push-client\`. One gateway (\`actorgate start\`, 2
workers, Redis configured, its pub/sub self-probe off so that Redis counts only pushes), a standalone redis-server, and
one driver process that is both the push client (\`actorgate/push-client\`) and ${SESSIONS} receiving sessions. Session pushes
of ${PAYLOAD_BYTES} bytes go round-robin over the sessions. **direct**: \`sessions: 'direct'\`, each push goes on the PushStream of
the gateway its session id names (supervisor, then the owning worker). **Redis path**: \`sessions: 'redis'\`, the
client PUBLISHes it on the owner's session channel and the owning worker's subscriber delivers it (the path a push
took through a gateway that did not own its session). ${ROUNDS} rounds, each running both sides in alternating order, after a
warm-up run of each; figures are the means. CPU per push: Redis from \`INFO cpu\`, the gateway process from /proc,
the driver from \`process.cpuUsage()\`. ${describeMachine(machine)}.

As fast as it goes (${fmt(PUSHES)} pushes a run, at most ${fmt(WINDOW)} outstanding):

${table(['path', 'pushes/s', 'Redis CPU µs/push', 'gateway CPU µs/push', 'driver CPU µs/push', 'PUBLISH calls', 'dropped'], [row('direct', direct), row('Redis path', viaRedis)], ['left'])}

At a fixed ${fmt(RATE)} pushes/s (${RATE_SECONDS} s a run), latency from the push call to the session's receipt, on one clock:

${table(['path', 'p50 ms', 'p99 ms', 'Redis CPU µs/push', 'gateway CPU µs/push', 'PUBLISH calls', 'dropped'], [pacedRow('direct', directPaced), pacedRow('Redis path', redisPaced)], ['left'])}

Direct over the Redis path: ${ratioOf(mean(direct, 'perSecond'), mean(viaRedis, 'perSecond'))} the deliveries per second, ${ratioOf(mean(directPaced, 'p50Ms'), mean(redisPaced, 'p50Ms'))} the p50 and ${ratioOf(mean(directPaced, 'p99Ms'), mean(redisPaced, 'p99Ms'))} the p99 latency at
the fixed rate, and no Redis work at all (${fmt(mean(direct, 'publishes'))} PUBLISH calls, against one per push). The direct path
costs the gateway one more thread hop (the push server on the supervisor posts to the owning worker) where the Redis
path arrives on the worker's own subscriber; the client saves encoding and sending each push to Redis. At the fixed
rate a PushBatch carries only the few pushes made in one millisecond, so the gateway's cost per batch (gRPC decode,
routing, the post to the worker) falls on few pushes: there the direct path spends more gateway CPU per push than the
Redis path, where Redis does that work instead (a client that batches longer would trade latency for it). All three
processes share the machine's two cores, so the rates are the machine's, not the gateway's alone.`;
  writeSection(resolve(root, 'BENCHMARKS.md'), 'push-client', body, '# Benchmarks');
}

await main();
