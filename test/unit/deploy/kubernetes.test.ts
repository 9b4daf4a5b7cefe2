/**
 * deploy/kubernetes/ and the Dockerfile against the gateway's own options: what the cluster and the image would do
 * with them, checked without a cluster or docker. A port, path or timeout that drifts from the config fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { resolveConfig, type ResolvedConfig } from '../../../src/core/options.ts';
import { SETTINGS } from '../../../src/cli/settings.ts';
import { buildOptions } from '../../../src/cli/args.ts';
import { configFileOf, cpuCores, manifestDir, objectOf, readDockerfile, readKustomization } from './manifests.ts';
import { readManifests, repoRoot, type K8sObject } from './manifests.ts';

const objects = readManifests();
const deployment = objectOf(objects, 'Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const config = resolveConfig(JSON.parse(configFileOf(objects).text));
const stages = readDockerfile();
const runtime = stages.at(-1)!;

/** A container port by name or number → its number. */
function portNumber(port: string | number): number {
  if (typeof port === 'number') return port;
  const named = (container.ports as { name: string; containerPort: number }[]).find((p) => p.name === port);
  assert.ok(named, `the container has a port named ${port}`);
  return named.containerPort;
}

/**
 * What the pod may spend on a stop: the drain (the pre-drain delay, then the window; drainTimeoutMs caps both), then
 * the flush of CLOSE packets to backends.
 */
function stopBudgetMs({ shutdown }: ResolvedConfig): number {
  return Math.min(shutdown.drainTimeoutMs, shutdown.preDrainDelayMs + shutdown.drainWindowMs) + shutdown.flushTimeoutMs;
}

function entrypoint(): string[] {
  const instruction = runtime.instructions.find((i) => i.op === 'ENTRYPOINT');
  assert.ok(instruction?.json, 'the runtime stage has an exec-form ENTRYPOINT');
  return instruction.json;
}

test('the kustomization lists every manifest in deploy/kubernetes/, and each parses as one object', () => {
  const listed = readKustomization().resources.sort();
  const files = readdirSync(manifestDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
  assert.deepEqual(listed, files);
  assert.equal(objects.length, files.length);
  const kinds = objects.map((o) => o.kind).sort();
  const expected = ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service', 'Service'];
  assert.deepEqual(kinds, expected);
});

test("the ConfigMap's config file is accepted by resolveConfig as it is, and is what the container reads", () => {
  const { name, text } = configFileOf(objects);
  assert.doesNotThrow(() => resolveConfig(JSON.parse(text)));
  const args = entrypoint();
  const configPath = args[args.indexOf('--config') + 1]!;
  assert.equal(posix.basename(configPath), name);
  const volume = (pod.volumes as { name: string; configMap?: { name: string } }[]).find(
    (v) => v.configMap?.name === objectOf(objects, 'ConfigMap').metadata.name,
  );
  assert.ok(volume, 'a volume holds the ConfigMap');
  const mount = (container.volumeMounts as { name: string; mountPath: string }[]).find((m) => m.name === volume.name);
  assert.equal(mount?.mountPath, posix.dirname(configPath));
  // Probes from the kubelet and the Service reach the pod's address, not its loopback.
  assert.equal(config.listen.host, '0.0.0.0');
  assert.equal(config.admin.host, '0.0.0.0');
  assert.equal(config.push.host, '0.0.0.0');
});

test("container ports, Service target ports and probe ports are the config's listen, admin and push ports", () => {
  const ports = (container.ports as { containerPort: number }[]).map((p) => p.containerPort).sort();
  assert.deepEqual(ports, [config.listen.port, config.admin.port, config.push.port].sort());

  const client = objects.find((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer') as K8sObject;
  assert.ok(client, 'a LoadBalancer Service');
  assert.equal(client.spec.externalTrafficPolicy, 'Local');
  const targets = (service: K8sObject): number[] =>
    service.spec.ports.map((p: { targetPort: string }) => portNumber(p.targetPort));
  assert.deepEqual(targets(client), [config.listen.port]);

  const internal = objects.find((o) => o.kind === 'Service' && (o.spec.type ?? 'ClusterIP') === 'ClusterIP')!;
  assert.ok(internal, 'a ClusterIP Service');
  const internalPorts = targets(internal);
  assert.ok(config.push.port !== null && internalPorts.includes(config.push.port), 'the push port');
  assert.ok(!internalPorts.includes(config.listen.port), 'clients come through the load balancer only');

  const labels = deployment.spec.template.metadata.labels;
  for (const service of [client, internal]) assert.deepEqual(service.spec.selector, labels);
  assert.equal(container.readinessProbe.httpGet.path, '/ready');
  assert.equal(portNumber(container.readinessProbe.httpGet.port), config.admin.port);
  assert.equal(container.livenessProbe.httpGet.path, '/health');
  assert.equal(portNumber(container.livenessProbe.httpGet.port), config.admin.port);
});

test('the preStop hook drains through the admin port, and the grace period outlasts the drain and flush', () => {
  const command = container.lifecycle.preStop.exec.command as string[];
  assert.deepEqual(command.slice(0, 3), [...entrypoint().slice(0, 2), 'drain'], "the image's actorgate, command drain");
  // As the CLI parses it, with the pod's variables standing in for their values.
  const env = Object.fromEntries((container.env as { name: string }[]).map((e) => [e.name, `<${e.name}>`]));
  const invocation = buildOptions(command.slice(2), env);
  assert.equal(invocation.command, 'drain');
  const admin = new URL(invocation.drain!.admin);
  assert.equal(Number(admin.port), config.admin.port);
  assert.equal(admin.hostname, '127.0.0.1');
  assert.equal(invocation.drain!.key, env.ACTORGATE_ADMIN_KEY, 'drain sends the key from the Secret');
  assert.ok('ACTORGATE_ADMIN_API_KEYS' in env, 'the admin port requires a key');

  const slackMs = 5000;
  const graceMs = pod.terminationGracePeriodSeconds * 1000;
  const budgetMs = stopBudgetMs(config);
  assert.ok(graceMs >= budgetMs + slackMs, `grace ${graceMs} ms < drain + flush ${budgetMs} ms + ${slackMs} ms`);
  // Past drainTimeoutMs the gateway closes the stragglers itself: the grace must outlast that too.
  assert.ok(graceMs >= config.shutdown.drainTimeoutMs + config.shutdown.flushTimeoutMs + slackMs);
  // A load balancer needs time to see /ready fail before clients are told to reconnect.
  assert.ok(config.shutdown.preDrainDelayMs > 0, 'shutdown.preDrainDelayMs is set');
});

test("every ACTORGATE_* variable the pod sets is one the gateway or actorgate drain reads", () => {
  const known = new Set([...SETTINGS.map((s) => s.env), 'ACTORGATE_ADMIN_KEY', 'ACTORGATE_CONFIG', 'ACTORGATE_ROUTES']);
  for (const { name } of container.env as { name: string }[]) {
    if (name.startsWith('ACTORGATE_')) assert.ok(known.has(name), `${name} is read by actorgate`);
  }
});

test('the config runs no more workers than the CPU limit, and the pod is non-root on a read-only root', () => {
  const { requests, limits } = container.resources;
  assert.ok(config.workers <= cpuCores(limits.cpu), `workers ${config.workers} > CPU limit ${limits.cpu}`);
  assert.ok(cpuCores(requests.cpu) <= cpuCores(limits.cpu));
  assert.ok(limits.memory, 'a memory limit');

  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.notEqual(pod.securityContext.runAsUser, 0);
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.equal(container.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
  const tmp = (container.volumeMounts as { mountPath: string }[]).find((m) => m.mountPath === '/tmp');
  assert.ok(tmp, 'a writable /tmp for the route cache');

  const user = runtime.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
  assert.equal(user?.split(':')[0], String(pod.securityContext.runAsUser), 'the image user is the pod user');
});

test('pods spread across nodes; the PDB, HPA and images target this Deployment', () => {
  const labels = deployment.spec.template.metadata.labels;
  assert.deepEqual(deployment.spec.selector.matchLabels, labels);
  const terms = deployment.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  assert.equal(terms[0].podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
  assert.deepEqual(terms[0].podAffinityTerm.labelSelector.matchLabels, labels);

  assert.deepEqual(objectOf(objects, 'PodDisruptionBudget').spec.selector.matchLabels, labels);
  const hpa = objectOf(objects, 'HorizontalPodAutoscaler').spec;
  assert.deepEqual([hpa.scaleTargetRef.kind, hpa.scaleTargetRef.name], ['Deployment', deployment.metadata.name]);
  assert.equal(hpa.metrics[0].resource.name, 'cpu');
  assert.ok(hpa.minReplicas >= 2 && hpa.maxReplicas >= hpa.minReplicas);
  assert.ok(readKustomization().images?.some((image) => image.name === container.image), 'kustomize sets the image');
});

test("the Dockerfile's runtime stage: node:20-slim, production deps without scripts, built dist, non-root", () => {
  assert.ok(stages.length >= 2, 'multi-stage');
  const build = stages[0]!;
  const runs = (stage: typeof build, pattern: RegExp) =>
    stage.instructions.some((i) => i.op === 'RUN' && pattern.test(i.args));
  assert.ok(runs(build, /npm ci\b/), 'the build stage installs dev deps');
  assert.ok(runs(build, /npm run build/));

  assert.equal(runtime.from, 'node:20-slim');
  const install = runtime.instructions.find((i) => i.op === 'RUN' && /npm ci\b/.test(i.args));
  assert.ok(install, 'the runtime stage runs npm ci');
  assert.match(install.args, /--omit=dev/);
  assert.match(install.args, /--ignore-scripts/, 'prepare (tsc, a dev dependency) must not run');
  assert.ok(!runs(runtime, /npm run build/));

  const copies = runtime.instructions.filter((i) => i.op === 'COPY').map((i) => i.args.split(/\s+/));
  const fromBuild = copies.some((c) => c[0] === `--from=${build.name}` && c[1] === '/app/dist');
  assert.ok(fromBuild, 'dist comes from the build stage');
  const fromContext = copies.filter((c) => !c[0]!.startsWith('--')).flatMap((c) => c.slice(0, -1));
  assert.deepEqual(fromContext.sort(), ['bin', 'package-lock.json', 'package.json', 'proto']);

  const user = runtime.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
  assert.ok(user && !/^(root|0)(:|$)/.test(user), `runs as ${user}`);
  const runtimeUserAt = runtime.instructions.findIndex((i) => i.op === 'USER');
  assert.ok(runtimeUserAt > runtime.instructions.indexOf(install), 'installs as root, runs as the user');

  const exposed = runtime.instructions.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map(Number));
  exposed.sort();
  assert.deepEqual(exposed, [config.listen.port, config.admin.port, config.push.port].sort());
  const healthcheck = runtime.instructions.find((i) => i.op === 'HEALTHCHECK');
  assert.ok(!healthcheck || healthcheck.args.includes(`127.0.0.1:${config.admin.port}/health`), 'HEALTHCHECK: /health');
  const args = entrypoint();
  assert.deepEqual(args.slice(0, 3), ['node', '/app/bin/actorgate.js', 'start']);
  assert.ok(existsSync(`${repoRoot}${args[1]!.replace('/app/', '')}`), 'the entry script is the repo\'s bin/');
});

test('.dockerignore lets in everything the Dockerfile copies from the context, and not node_modules or dist', () => {
  const lines = readFileSync(`${repoRoot}.dockerignore`, 'utf8').split('\n');
  const allowed = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
  const copied = stages
    .flatMap((s) => s.instructions)
    .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  for (const path of copied) assert.ok(allowed.includes(path), `${path} is in the build context`);
  assert.ok(!allowed.includes('node_modules') && !allowed.includes('dist'));
  assert.equal(lines.find((l) => l && !l.startsWith('#')), '*', 'everything else stays out');
});
