/**
 * The `actorgate` command: parses the command line (args.ts), starts a gateway (or the demo), prints where it
 * listens, and turns SIGINT/SIGTERM into drain → close; `hash-key` makes an API key (hash-key.ts); `instances` lists
 * the gateway registry (instances.ts); `drain` drains a running gateway through its admin port (drain-command.ts).
 * Returns an exit code instead of exiting, so it can be tested.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configErrorOf, isActorgateError } from '../core/errors.ts';
import { resolveConfig, type GatewayOptions } from '../core/options.ts';
import { packageRoot } from '../core/paths.ts';
import type { Gateway } from '../gateway.ts';
import { buildOptions, HELP_TEXT, UsageError, type CliInvocation } from './args.ts';
import { runHashKey } from './hash-key.ts';
import { runInstances } from './instances.ts';
import { runDrain } from './drain-command.ts';
import { runRoutes } from './routes-command.ts';
import { reloadOnSignal } from './tls-signal.ts';

/** Where main writes, and what it listens to; the defaults are the process's. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** SIGINT and SIGTERM drain then stop; SIGHUP reloads the TLS certificates (tls-signal.ts). */
  signals: { on(signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP', listener: (signal: NodeJS.Signals) => void): unknown; off(signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP', listener: (signal: NodeJS.Signals) => void): unknown };
  /** Called on a third signal, when even close() has not finished. */
  exit(code: number): void;
  /** What `hash-key --stdin` reads. @default process.stdin */
  stdin?: AsyncIterable<string | Uint8Array>;
}

const processIo: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  signals: process,
  exit: (code) => process.exit(code),
};

/** Exit codes: 0 ok, 1 failed to start or stop, 2 bad command line or configuration. */
const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo = processIo): Promise<number> {
  // `routes` has subcommands and a FILE argument of its own (routes-command.ts).
  if (argv[0] === 'routes') return runRoutes(argv.slice(1), env, io);
  let invocation: CliInvocation;
  try {
    invocation = buildOptions(argv, env);
  } catch (err) {
    return reportError(err, undefined, io);
  }
  switch (invocation.command) {
    case 'help':
      io.stdout.write(HELP_TEXT);
      return EXIT_OK;
    case 'version':
      io.stdout.write(`actorgate ${version()}\n`);
      return EXIT_OK;
    case 'start':
      return runStart(invocation, io);
    case 'demo':
      return runDemo(invocation, io);
    case 'hash-key':
      return runHashKey(invocation.hashKey?.stdin === true, { stdout: io.stdout, stderr: io.stderr, stdin: io.stdin ?? process.stdin });
    case 'instances':
      return runInstances(invocation.instances!, io);
    case 'drain':
      return runDrain(invocation.drain!, io);
  }
}

async function runStart(invocation: CliInvocation, io: CliIo): Promise<number> {
  let gateway: Gateway;
  try {
    gateway = await launch(invocation.options);
  } catch (err) {
    return reportError(err, invocation, io);
  }
  const { config } = gateway;
  io.stdout.write(`actorgate ${version()}: gateway "${config.name}" (node ${config.nodeId}) running ${config.workers} worker${config.workers === 1 ? '' : 's'}\n`);
  if (invocation.configFile) io.stdout.write(`  config     ${invocation.configFile}\n`);
  io.stdout.write(listeningLines(gateway));
  for (const rule of config.routes) {
    const match = `serverType ${rule.serverType}${rule.worldId ? ` world ${rule.worldId}` : ''}${rule.instId ? ` inst ${rule.instId}` : ''}`;
    io.stdout.write(`  route      ${match} → ${rule.endpoints.join(', ')} (${rule.strategy})\n`);
  }
  if (config.control.routes === 'redis') io.stdout.write(`  routes     from Redis ${config.redis?.prefix ?? ''}routes (the config file routes until a document is set; actorgate routes set FILE)\n`);
  else if (config.routes.length === 0) io.stdout.write('  route      none: every client message will get NO_ROUTE (see --route)\n');
  io.stdout.write('Press Ctrl+C to drain and stop (twice to stop at once).\n');
  return serveUntilSignal(gateway, io);
}

async function runDemo(invocation: CliInvocation, io: CliIo): Promise<number> {
  let backend: { endpoint: string; port: number; close(): Promise<void> } | undefined;
  let gateway: Gateway;
  try {
    resolveConfig(invocation.options); // a bad --port fails before the backend starts
    const { startDemoBackend } = await import('../demo/demo-backend.ts');
    backend = await startDemoBackend({ host: '127.0.0.1', port: invocation.demo?.backendPort ?? 0 });
    const options: GatewayOptions = { ...invocation.options, routes: [{ serverType: 1, endpoints: [backend.endpoint] }] };
    gateway = await launch(options);
  } catch (err) {
    await backend?.close().catch(() => {});
    return reportError(err, invocation, io);
  }
  const url = wsUrl(gateway);
  io.stdout.write(`actorgate ${version()} demo\n`);
  io.stdout.write(listeningLines(gateway));
  io.stdout.write(`  backend    ${backend.endpoint} (demo gRPC backend: serverType 1; echoes every frame, ticks every 5 s)\n`);
  io.stdout.write(`  topics     demo.* may be subscribed to\n\n`);
  io.stdout.write(tryItText(url));
  io.stdout.write('\nPress Ctrl+C to drain and stop (twice to stop at once).\n');
  const code = await serveUntilSignal(gateway, io);
  try {
    await backend.close();
  } catch (err) {
    io.stderr.write(`actorgate: closing the demo backend failed: ${oneLine(err)}\n`);
    return EXIT_FAILURE;
  }
  return code;
}

/** Validates first (a clear ConfigError before any thread starts), then loads the gateway: help needs no uWS. */
async function launch(options: GatewayOptions): Promise<Gateway> {
  resolveConfig(options);
  const { startGateway } = await import('../gateway.ts');
  return startGateway(options);
}

/**
 * Resolves with the exit code once the gateway has closed. The first signal drains then closes; the second closes
 * at once (close() cuts a drain short); a third gives up on a close that hangs.
 */
function serveUntilSignal(gateway: Gateway, io: CliIo): Promise<number> {
  return new Promise((resolve) => {
    let signals = 0;
    let attempt = 0;
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      io.signals.off('SIGINT', onSignal);
      io.signals.off('SIGTERM', onSignal);
      io.signals.off('SIGHUP', onReload);
      resolve(code);
    };
    // Only the latest attempt reports: a drain cut short by close() may reject, and that is not a failure.
    const run = (task: () => Promise<void>) => {
      const id = ++attempt;
      task().then(
        () => {
          if (id === attempt) {
            io.stderr.write('actorgate: stopped\n');
            finish(EXIT_OK);
          }
        },
        (err: unknown) => {
          if (id !== attempt) return;
          io.stderr.write(`actorgate: shutdown failed: ${oneLine(err)}\n`);
          finish(EXIT_FAILURE);
        },
      );
    };
    function onSignal(signal: NodeJS.Signals): void {
      signals++;
      if (signals === 1) {
        io.stderr.write(`actorgate: ${signal}: draining (send it again to stop at once)\n`);
        run(async () => {
          await gateway.drain();
          await gateway.close();
        });
      } else if (signals === 2) {
        io.stderr.write(`actorgate: ${signal}: closing now\n`);
        run(() => gateway.close());
      } else {
        io.stderr.write(`actorgate: ${signal}: close did not finish; exiting\n`);
        io.exit(EXIT_FAILURE);
      }
    }
    function onReload(signal: NodeJS.Signals): void {
      if (signals === 0) reloadOnSignal(gateway, io.stderr, signal);
    }
    io.signals.on('SIGINT', onSignal);
    io.signals.on('SIGTERM', onSignal);
    io.signals.on('SIGHUP', onReload);
    // A drain started on the admin port (POST /admin/drain, `actorgate drain`) closes the gateway by itself.
    void gateway.closed.then(() => {
      if (signals > 0) return;
      io.stderr.write('actorgate: drained (POST /admin/drain); stopped\n');
      finish(EXIT_OK);
    });
  });
}

function reportError(err: unknown, invocation: CliInvocation | undefined, io: CliIo): number {
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof UsageError || (isActorgateError(err) && err.code === 'ERR_ACTORGATE_USAGE')) {
    io.stderr.write(`actorgate: ${err.message}\n`);
    return EXIT_USAGE;
  }
  // Also behind a worker's failure: the ConfigError crossed the thread with its field (errorFromWire).
  const configError = configErrorOf(err);
  if (configError !== undefined) {
    const origin = invocation?.origin(configError.field);
    io.stderr.write(`actorgate: ${configError.message}${origin ? ` (from ${origin})` : ''}\n`);
    return EXIT_USAGE;
  }
  const portFlags = invocation?.command === 'demo' ? '--port, --admin-port or --backend-port' : '--port or --admin-port';
  const inUse = code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(oneLine(err));
  const hint = inUse ? ` (is another process using the port? choose another with ${portFlags})` : '';
  io.stderr.write(`actorgate: failed to start: ${oneLine(err)}${hint}\n`);
  return EXIT_FAILURE;
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n', 1)[0]!.trim();
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function wsUrl(gateway: Gateway): string {
  return `${gateway.config.listen.tls === null ? 'ws' : 'wss'}://${hostForUrl(gateway.config.listen.host)}:${gateway.port}/`;
}

function listeningLines(gateway: Gateway): string {
  const anyHost = gateway.config.listen.host === '0.0.0.0' || gateway.config.listen.host === '::';
  let text = `  WebSocket  ${wsUrl(gateway)}${anyHost ? ' (all interfaces)' : ''}\n`;
  const push = gateway.pushPort === null ? 'off' : `${hostForUrl(gateway.config.push.host)}:${gateway.pushPort} (gRPC GatewayPush${gateway.config.push.tls === null ? '' : ' over TLS'})`;
  if (gateway.adminPort === null) return `${text}  admin      off\n  push       ${push}\n`;
  const admin = `${gateway.config.admin.tls === null ? 'http' : 'https'}://${hostForUrl(gateway.config.admin.host)}:${gateway.adminPort}`;
  text += `  admin      ${admin}/health  ${admin}/ready  ${admin}/metrics\n`;
  text += `  push       ${push}, or POST ${admin}/v1/push\n`;
  return text;
}

/** A copy-paste client: one frame for serverType 1, then it prints what comes back (the echo, then ticks). */
function tryItText(url: string): string {
  // msgId 100, serverId = serverType 1 << 8; the gateway's own frames (serverType 0, e.g. WELCOME) are skipped
  const snippet =
    `const W=require('ws');const s=new W('${url}');` +
    `s.on('open',()=>{const p=Buffer.from('hello');const h=Buffer.alloc(8);` +
    `h.writeUInt16LE(p.length,0);h.writeUInt16LE(100,2);h.writeUInt32LE(1<<8,4);s.send(Buffer.concat([h,p]))});` +
    `s.on('message',m=>{if(((m.readUInt32LE(4)>>>8)&255)===0)return;` +
    `console.log('msgId',m.readUInt16LE(2),'payload',JSON.stringify(m.subarray(8).toString()))});` +
    `setTimeout(()=>s.close(),11000)`;
  return [
    'How to try it (from the actorgate directory, which has the ws package):',
    `  node -e "${snippet}"`,
    '  It sends one frame (8-byte header: u16 length, u16 msgId, u32 serverId with serverType 1 in bits 8-15, then the',
    '  payload "hello"), prints the echo, then the ticks the backend sends every 5 s, and disconnects after 11 s.',
    '',
  ].join('\n');
}

let cachedVersion: string | undefined;

function version(): string {
  cachedVersion ??= (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  return cachedVersion;
}

/**
 * Runs main with the process's argv and environment and sets the exit code. A stopped gateway has released every
 * handle, so the process then ends by itself; the unref()ed timer only stops a leaked handle from keeping it alive.
 */
export async function run(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let code: number;
  try {
    code = await main(argv, env);
  } catch (err) {
    process.stderr.write(`actorgate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    code = EXIT_FAILURE;
  }
  process.exitCode = code;
  setTimeout(() => process.exit(code), 5000).unref();
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) void run();
