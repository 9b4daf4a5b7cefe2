/**
 * The ConfigMap's config file (deploy/kubernetes/configmap.yaml) run the way the pod runs it: `actorgate start
 * --config FILE` with the Deployment's ACTORGATE_* variables, the API keys from its Secret, a real Redis and a
 * backend in place of the cluster's, then stopped by the Deployment's preStop hook. Ports are overridden to 0 and
 * hosts to loopback; the drain is a tenth as long.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateApiKey, hashApiKey } from '../../src/core/api-keys.ts';
import { Code, connectClient, packServerId, startMockBackend, waitUntil } from '../../src/testkit/index.ts';
import { configFileOf, objectOf, readManifests, type K8sObject } from '../unit/deploy/manifests.ts';
import { startRedisServer } from './redis-server.ts';

// The CLI from its sources, not bin/ (which prefers a dist/ that may predate them): the image runs the same code built.
const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function deployment(objects: readonly K8sObject[]) {
  return objectOf(objects, 'Deployment').spec.template.spec.containers[0];
}

test('the ConfigMap config starts, answers probes without a key, routes, and drains by the preStop hook', async (t) => {
  const { name, text } = configFileOf(readManifests());
  const dir = mkdtempSync(join(tmpdir(), 'actorgate-deploy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  writeFileSync(file, text);
  const fileConfig = JSON.parse(text) as { routes: { endpoints: string[] }[]; shutdown: Record<string, number> };

  const redis = await startRedisServer();
  t.after(() => redis.stop());
  await using backend = await startMockBackend();
  const adminKey = generateApiKey();
  const tenth = (ms: number | undefined) => String(Math.round((ms ?? 0) / 10));
  const env = {
    ...process.env,
    ACTORGATE_HOST: '127.0.0.1',
    ACTORGATE_PORT: '0',
    ACTORGATE_ADMIN_HOST: '127.0.0.1',
    ACTORGATE_ADMIN_PORT: '0',
    ACTORGATE_PUSH_HOST: '127.0.0.1',
    ACTORGATE_PUSH_PORT: '0',
    ACTORGATE_REDIS: redis.url,
    ACTORGATE_ROUTES: JSON.stringify(fileConfig.routes.map((rule) => ({ ...rule, endpoints: [backend.endpoint] }))),
    ACTORGATE_REGISTRY_ADVERTISE_HOST: '127.0.0.1',
    ACTORGATE_ADMIN_API_KEYS: hashApiKey(adminKey),
    ACTORGATE_PUSH_API_KEYS: hashApiKey(generateApiKey()),
    ACTORGATE_ADMIN_KEY: adminKey,
    ACTORGATE_SHUTDOWN_PRE_DRAIN_DELAY_MS: tenth(fileConfig.shutdown.preDrainDelayMs),
    ACTORGATE_SHUTDOWN_DRAIN_WINDOW_MS: tenth(fileConfig.shutdown.drainWindowMs),
    ACTORGATE_SHUTDOWN_DRAIN_TIMEOUT_MS: tenth(fileConfig.shutdown.drainTimeoutMs),
  };
  const args = ['--import', 'tsx', cli, 'start', '--config', file];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number);

  const [, wsUrl, admin] = await waitUntil(
    () => {
      if (child.exitCode !== null) throw new Error(`start exited with ${child.exitCode}: ${out.stderr}`);
      return /WebSocket\s+(ws:\/\/[\d.]+:\d+\/).*\n\s+admin\s+(http:\/\/[\d.]+:\d+)\//.exec(out.stdout) ?? undefined;
    },
    15_000,
    'actorgate start to print its URLs',
  );
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${admin}${path}`, { headers });
  const readyIs = (status: number) => async () => ((await get('/ready')).status === status ? true : undefined);

  // What the kubelet's probes send: no key.
  await waitUntil(readyIs(200), 10_000, '/ready 200');
  assert.deepEqual(await (await get('/ready')).json(), { ready: true });
  assert.equal((await get('/health')).status, 200);
  // The Secret's hash took effect: the rest of the admin port needs its key.
  assert.equal((await get('/metrics')).status, 401);
  assert.equal((await get('/metrics', { 'x-api-key': adminKey })).status, 200);

  const client = await connectClient(wsUrl!);
  client.send(100, packServerId({ serverType: 1 }), 'through the route');
  const [echo] = await client.waitForFrames(1, 10_000);
  assert.equal(echo!.payload.toString(), 'through the route');

  // A rollout's stop: the kubelet runs the preStop hook (here against the real admin port) and waits for it. /ready
  // turns 503 at once while connections are still taken (the load balancers are catching up), DRAIN follows after the
  // pre-drain delay, a client that stays is closed with DRAINED, and the gateway closes itself; the hook returns 0
  // once it has, well inside the grace period.
  const hook = deployment(readManifests()).lifecycle.preStop.exec.command as string[];
  const hookArgs = hook.slice(2).map((arg, i, all) => (all[i - 1] === '--admin' ? admin! : arg));
  const preStop = spawn(process.execPath, ['--import', 'tsx', cli, ...hookArgs], { env, stdio: 'pipe' });
  let hookOut = '';
  preStop.stdout.on('data', (d: Buffer) => (hookOut += d.toString()));
  preStop.stderr.on('data', (d: Buffer) => (hookOut += d.toString()));
  const hookExited = once(preStop, 'exit').then(([code]) => code as number);
  await waitUntil(readyIs(503), 10_000, '/ready 503 once draining');
  const stopAt = Date.now();
  const late = await connectClient(wsUrl!);
  assert.ok(!client.controls.some((c) => c.type === 'drain'), 'no DRAIN during the pre-drain delay');
  const withOutput = (err: Error) => Promise.reject(new Error(`${err.message}\n${out.stdout}${out.stderr}${hookOut}`));
  const drain = await client.waitForControl('drain', 10_000).catch(withOutput);
  const drainedAt = Date.now() - stopAt;
  await late.waitForControl('drain', 10_000);
  assert.ok(drain.reconnectAfterMs <= Number(env.ACTORGATE_SHUTDOWN_DRAIN_WINDOW_MS));
  assert.equal((await client.closed).code, Code.DRAINED);
  assert.equal((await late.closed).code, Code.DRAINED);
  assert.equal(await hookExited, 0, hookOut);
  assert.equal(await exited, 0, out.stderr);
  const stopMs = Date.now() - stopAt;
  const budgetMs = Number(env.ACTORGATE_SHUTDOWN_DRAIN_TIMEOUT_MS) + fileConfig.shutdown.flushTimeoutMs!;
  assert.ok(stopMs < budgetMs + 2000, `stopped in ${stopMs} ms; the drain and flush allow ${budgetMs} ms`);
  t.diagnostic(`/ready 503 to exit: ${stopMs} ms (DRAIN at ${drainedAt} ms; drain + flush budget ${budgetMs} ms)`);
});
