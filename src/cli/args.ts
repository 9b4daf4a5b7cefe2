/**
 * Command-line parsing: argv + environment + config file → the command to run and its `GatewayOptions`.
 * Pure apart from reading the config file, so every precedence rule is unit-tested without starting anything.
 * Values are only parsed here (integers, route specs, JSON); `resolveConfig` validates ranges and names the field.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ActorgateError } from '../core/errors.ts';
import { defaultBackend, defaultLimits, type GatewayOptions, type RouteRule } from '../core/options.ts';

/** The command line itself is wrong (unknown flag, non-integer value, unreadable config file). Exit code 2. */
export class UsageError extends ActorgateError {
  constructor(message: string) {
    super('ERR_ACTORGATE_USAGE', message);
    this.name = 'UsageError';
  }
}

export type Command = 'start' | 'demo' | 'help' | 'version';

export interface DemoSettings {
  /** Port of the bundled demo backend on 127.0.0.1; 0 picks a free one. @default 0 */
  backendPort: number;
}

export interface CliInvocation {
  command: Command;
  /** Unvalidated: pass to `resolveConfig` / `startGateway`. Empty for help and version. */
  options: GatewayOptions;
  /** Only for `demo`; its route to the demo backend is added once the backend has a port. */
  demo?: DemoSettings;
  /** Absolute path of the config file that was read, if any. */
  configFile?: string;
  /**
   * Where a config field's value came from (`--port`, `ACTORGATE_PORT`, `config file /etc/ag.json`), for error
   * messages. Takes the field as `ConfigError.field` spells it (`routes[0].endpoints[1]`); undefined for a default.
   */
  origin(field: string): string | undefined;
}

/** The demo gateway's embedded defaults (`actorgate demo`). */
export const DEMO_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 7000,
  adminPort: 7001,
  pushPort: 7002,
  backendPort: 0,
  topics: ['demo.*'],
  // the demo prints its own instructions; info-level JSON logs on the same stdout would bury them
  logLevel: 'warn',
});

const ENV = {
  config: 'ACTORGATE_CONFIG',
  routes: 'ACTORGATE_ROUTES',
} as const;

type Kind = 'int' | 'string' | 'port-or-off';

/** One scalar setting reachable from a flag, an environment variable and a config field. */
interface Setting {
  flag: string;
  env: string;
  field: string;
  kind: Kind;
}

const SETTINGS: readonly Setting[] = [
  { flag: 'workers', env: 'ACTORGATE_WORKERS', field: 'workers', kind: 'int' },
  { flag: 'host', env: 'ACTORGATE_HOST', field: 'listen.host', kind: 'string' },
  { flag: 'port', env: 'ACTORGATE_PORT', field: 'listen.port', kind: 'int' },
  { flag: 'admin-host', env: 'ACTORGATE_ADMIN_HOST', field: 'admin.host', kind: 'string' },
  { flag: 'admin-port', env: 'ACTORGATE_ADMIN_PORT', field: 'admin.port', kind: 'port-or-off' },
  { flag: 'push-host', env: 'ACTORGATE_PUSH_HOST', field: 'push.host', kind: 'string' },
  { flag: 'push-port', env: 'ACTORGATE_PUSH_PORT', field: 'push.port', kind: 'port-or-off' },
  { flag: 'redis', env: 'ACTORGATE_REDIS', field: 'redis.url', kind: 'string' },
  { flag: 'name', env: 'ACTORGATE_NAME', field: 'name', kind: 'string' },
  { flag: 'node-id', env: 'ACTORGATE_NODE_ID', field: 'nodeId', kind: 'int' },
  { flag: 'log-level', env: 'ACTORGATE_LOG_LEVEL', field: 'log.level', kind: 'string' },
];

function rows(defaults: object, notes: Record<string, string>): string {
  return Object.entries(defaults)
    .map(([key, value]) => `    ${key.padEnd(27)}${String(value).padEnd(10)}${notes[key] ?? ''}`.trimEnd())
    .join('\n');
}

const limitRows = rows(defaultLimits, {
  maxConnectionsPerWorker: 'upgrades past it get HTTP 503',
  maxPayloadBytes: 'largest client payload (at most 65535)',
  clientSendBufferBytes: 'bytes queued towards one client before messages are dropped',
  maxViolations: 'protocol violations per window before the session is closed',
  slowConsumerGraceMs: 'send buffer full this long: close with 4004',
  idleTimeoutMs: '0 disables; close a silent client with 4003',
  pingIntervalMs: 'below idleTimeoutMs; 0 disables',
});

const backendRows = rows(defaultBackend, {
  mailboxCapacity: 'queued messages per (worker, endpoint); past it clients get BACKEND_OVERLOADED',
  maxBatchPackets: 'packets per PacketBatch write',
  reconnectInitialMs: 'reconnect backoff, full jitter',
  notifyTimeoutMs: 'deadline of NotifyConnect/NotifyDisconnect',
  maxQueueAgeMs: 'while down, older queued messages get BACKEND_EXPIRED',
  circuitFailureThreshold: 'consecutive failures that open the circuit',
  circuitOpenMs: 'open circuit fails fast this long, then half-open',
  writeStallMs: 'a write pending this long counts as a failure',
  failoverAfterMs: 'down this long: bound sessions get BACKEND_FAILOVER',
});

/** `actorgate --help`: every command, flag, environment variable, the route syntax and the config file fields. */
export const HELP_TEXT = `actorgate: a real-time connection gateway (WebSocket clients to gRPC backends)

Usage:
  actorgate start [options]      run a gateway
  actorgate demo [options]       run a gateway with a bundled demo backend, all on 127.0.0.1
  actorgate help | --help | -h   show this help (also: actorgate start --help)
  actorgate --version | -v       print the version

start options (flag, environment variable, config file field):
  --config FILE          ACTORGATE_CONFIG
      JSON config file (fields below); a relative path is taken from the current directory.
  --workers N            ACTORGATE_WORKERS         workers
      Worker threads, each owning a shard of the connections. Default: the number of CPU cores.
  --host H               ACTORGATE_HOST            listen.host
      Address the WebSocket server listens on. Default 0.0.0.0.
  --port P               ACTORGATE_PORT            listen.port
      WebSocket port; 0 picks one free port shared by all workers. Default 7000.
  --admin-host H         ACTORGATE_ADMIN_HOST      admin.host
      Address of the admin HTTP server. Default 127.0.0.1.
  --admin-port A|off     ACTORGATE_ADMIN_PORT      admin.port (null = off)
      Admin HTTP port serving /health, /ready and /metrics; "off" disables it. Default 7001.
  --push-host H          ACTORGATE_PUSH_HOST       push.host
      Address of the GatewayPush gRPC server. Default 127.0.0.1.
  --push-port G|off      ACTORGATE_PUSH_PORT       push.port (null = off)
      GatewayPush gRPC port (Push, PushStream); "off" disables it. Default 7002.
  --redis URL            ACTORGATE_REDIS           redis.url
      redis:// URL for fan-out across gateway instances (topic, user and session channels). Default: none.
  --name NAME            ACTORGATE_NAME            name
      Gateway name; backends see it as gate-name = <name>/<worker>. Default: the host name.
  --node-id N            ACTORGATE_NODE_ID         nodeId
      This instance's node id in session ids (0-8191); give every instance of a cluster its own. Default: random.
  --log-level L          ACTORGATE_LOG_LEVEL       log.level
      fatal, error, warn, info, debug, trace or silent. Default info. Logs are JSON lines (pino) on stdout.
  --route SPEC           ACTORGATE_ROUTES          routes
      A route rule; repeat the flag for more rules. Syntax below.
  -h, --help             show this help

  Precedence, lowest first: built-in defaults < config file < ACTORGATE_* variables < flags. Scalars override one
  field at a time (ACTORGATE_PORT changes listen.port and keeps listen.host from the file); routes are replaced as a
  whole: any --route replaces ACTORGATE_ROUTES, which replaces the file's routes. An empty variable counts as unset.
  Integer flags and variables take decimal integers only.

Route syntax (--route SPEC):
  SERVERTYPE[/WORLDID[/INSTID]]=ENDPOINT[,ENDPOINT...][,strategy=S][,hashBy=H][,notify=true|false]
    SERVERTYPE   1-255 (0 is the gateway's own control channel)
    WORLDID      0-32767, INSTID 0-255; 0 or absent matches any. The most specific matching rule wins.
    ENDPOINT     host:port of a backend, [addr]:port for IPv6
    strategy     round-robin (default) or consistent-hash
    hashBy       consistent-hash key: session (default) or user (the bound user id)
    notify       also call the unary NotifyConnect/NotifyDisconnect (older backends); default false
  Examples:
    --route 1=127.0.0.1:7100,127.0.0.1:7101       serverType 1, round-robin over two endpoints
    --route 2/5=10.0.0.7:7200                     serverType 2 in world 5 only
    --route 3=10.0.0.8:7300,10.0.0.9:7300,strategy=consistent-hash,hashBy=user
  ACTORGATE_ROUTES is a JSON array whose items are rule objects (as in the config file) or SPEC strings:
    ACTORGATE_ROUTES='[{"serverType":1,"endpoints":["10.0.0.5:7100"]},"2=10.0.0.6:7200"]'

Config file (JSON object; every field optional; unknown fields are errors):
  name                     string, default: host name
  nodeId                   integer 0-8191, default: random
  workers                  integer, default: CPU cores
  listen                   { "host": "0.0.0.0", "port": 7000 }
  admin                    { "host": "127.0.0.1", "port": 7001 }   port null disables the admin server
  routes                   [ { "serverType": 1, "worldId": 0, "instId": 0, "endpoints": ["10.0.0.5:7100"],
                               "strategy": "round-robin", "hashBy": "session", "notify": false }, ... ]
  topics                   { "allow": ["chat.*"] }   glob patterns clients may subscribe to; default none
  log                      { "level": "info" }
  limits                   per-session and per-worker protection (name, default):
${limitRows}
  backend                  gRPC streams to backends (name, default):
${backendRows}
  shutdown                 { "drainTimeoutMs": 10000, "flushTimeoutMs": 2000 }
  restart                  { "initialMs": 100, "maxMs": 5000 }   worker restart backoff
  Example: { "name": "gate-eu-1", "listen": { "port": 7000 }, "routes": [ { "serverType": 1,
             "endpoints": ["10.0.0.5:7100", "10.0.0.6:7100"] } ], "topics": { "allow": ["room.*"] } }

demo options:
  --port P               WebSocket port on 127.0.0.1; 0 picks a free one. Default ${DEMO_DEFAULTS.port}.
  --admin-port A|off     admin HTTP port on 127.0.0.1. Default ${DEMO_DEFAULTS.adminPort}.
  --push-port G|off      GatewayPush gRPC port on 127.0.0.1. Default ${DEMO_DEFAULTS.pushPort}.
  --backend-port B       demo backend's gRPC port on 127.0.0.1. Default 0 (a free port).
  --log-level L          Default ${DEMO_DEFAULTS.logLevel}.
  The demo routes serverType 1 to its backend, which echoes every frame and sends a tick every 5 s; clients may
  subscribe to topics matching demo.*. It reads no config file and no ACTORGATE_* variables.

Signals: the first SIGINT or SIGTERM drains (clients are told to reconnect elsewhere) and then stops; a second one
closes at once. Exit codes: 0 stopped cleanly, 1 failed to start or stop, 2 invalid command line or configuration.
`;

const START_FLAGS = {
  config: { type: 'string' },
  workers: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'admin-host': { type: 'string' },
  'admin-port': { type: 'string' },
  'push-host': { type: 'string' },
  'push-port': { type: 'string' },
  redis: { type: 'string' },
  name: { type: 'string' },
  'node-id': { type: 'string' },
  'log-level': { type: 'string' },
  route: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

const DEMO_FLAGS = {
  port: { type: 'string' },
  'admin-port': { type: 'string' },
  'push-port': { type: 'string' },
  'backend-port': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP_WORDS = new Set(['help', '--help', '-h']);
const VERSION_WORDS = new Set(['version', '--version', '-v']);

/**
 * Turns `actorgate <argv>` into a command and its options. Throws `UsageError` for a bad command line, environment
 * variable or config file; the options it returns are not validated (that is `resolveConfig`'s job).
 */
export function buildOptions(argv: readonly string[], env: NodeJS.ProcessEnv): CliInvocation {
  const [command, ...rest] = argv;
  if (command === undefined || HELP_WORDS.has(command)) return bare('help');
  if (VERSION_WORDS.has(command)) return bare('version');
  if (command === 'start') return buildStart(rest, env);
  if (command === 'demo') return buildDemo(rest);
  if (command.startsWith('-')) throw new UsageError(`unknown option ${command} (see actorgate --help)`);
  throw new UsageError(`unknown command "${command}" (commands: start, demo, help; see actorgate --help)`);
}

function bare(command: 'help' | 'version'): CliInvocation {
  return { command, options: {}, origin: () => undefined };
}

function buildStart(args: readonly string[], env: NodeJS.ProcessEnv): CliInvocation {
  const flags = parseFlags('start', args, START_FLAGS);
  if (flags.help) return bare('help');

  const origins = new Map<string, string>();
  const configPath = (flags.config as string | undefined) ?? envValue(env, ENV.config);
  const configFile = configPath === undefined ? undefined : resolve(configPath);
  const options: Record<string, unknown> = configFile === undefined ? {} : readConfigFile(configFile);

  for (const setting of SETTINGS) {
    const raw = envValue(env, setting.env);
    if (raw === undefined) continue;
    setField(options, setting.field, parseValue(raw, setting.kind, setting.env));
    origins.set(setting.field, setting.env);
  }
  const envRoutes = envValue(env, ENV.routes);
  if (envRoutes !== undefined) {
    options.routes = parseEnvRoutes(envRoutes);
    origins.set('routes', ENV.routes);
  }

  for (const setting of SETTINGS) {
    const raw = flags[setting.flag];
    if (typeof raw !== 'string') continue;
    setField(options, setting.field, parseValue(raw, setting.kind, `--${setting.flag}`));
    origins.set(setting.field, `--${setting.flag}`);
  }
  const specs = flags.route as string[] | undefined;
  if (specs !== undefined) {
    options.routes = specs.map((spec) => parseRouteSpec(spec, '--route'));
    origins.set('routes', '--route');
    specs.forEach((spec, i) => origins.set(`routes[${i}]`, `--route ${spec}`));
  }

  const fileOrigin = configFile === undefined ? undefined : `config file ${configFile}`;
  return {
    command: 'start',
    options: options as GatewayOptions,
    configFile,
    origin: (field) => originOf(origins, field) ?? fileOrigin,
  };
}

function buildDemo(args: readonly string[]): CliInvocation {
  const flags = parseFlags('demo', args, DEMO_FLAGS);
  if (flags.help) return bare('help');
  const origins = new Map<string, string>();
  const pick = (flag: string, kind: Kind, field: string, fallback: number | string | null): unknown => {
    const raw = flags[flag];
    if (typeof raw !== 'string') return fallback;
    origins.set(field, `--${flag}`);
    return parseValue(raw, kind, `--${flag}`);
  };
  const options = {
    name: 'actorgate-demo',
    listen: { host: DEMO_DEFAULTS.host, port: pick('port', 'int', 'listen.port', DEMO_DEFAULTS.port) },
    admin: { host: DEMO_DEFAULTS.host, port: pick('admin-port', 'port-or-off', 'admin.port', DEMO_DEFAULTS.adminPort) },
    push: { host: DEMO_DEFAULTS.host, port: pick('push-port', 'port-or-off', 'push.port', DEMO_DEFAULTS.pushPort) },
    topics: { allow: [...DEMO_DEFAULTS.topics] },
    log: { level: pick('log-level', 'string', 'log.level', DEMO_DEFAULTS.logLevel) },
  } as GatewayOptions;
  const backendPort = pick('backend-port', 'int', 'demo.backendPort', DEMO_DEFAULTS.backendPort) as number;
  if (backendPort < 0 || backendPort > 65535) throw new UsageError(`--backend-port must be between 0 and 65535, got ${backendPort}`);
  return { command: 'demo', options, demo: { backendPort }, origin: (field) => originOf(origins, field) };
}

type FlagValues = Record<string, string | boolean | string[] | undefined>;

function parseFlags(command: string, args: readonly string[], spec: NonNullable<Parameters<typeof parseArgs>[0]>['options']): FlagValues {
  try {
    return parseArgs({ args: [...args], options: spec, strict: true, allowPositionals: false }).values as FlagValues;
  } catch (err) {
    const hint = `see actorgate ${command} --help`;
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`unknown option ${option} for "actorgate ${command}" (${hint})`);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const arg = /'([^']*)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`unexpected argument "${arg}" for "actorgate ${command}" (${hint})`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      // "Option '--port <value>' argument missing" / "... argument is ambiguous ..."
      const option = /'(-[^' ]+|-\w, --[^' ]+)/.exec(message)?.[1]?.replace(/^-\w, /, '');
      if (option && /argument missing|ambiguous/.test(message)) throw new UsageError(`option ${option} needs a value (${hint})`);
    }
    throw new UsageError(`${message} (${hint})`);
  }
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function parseValue(raw: string, kind: Kind, source: string): unknown {
  if (kind === 'string') return raw;
  if (kind === 'port-or-off' && raw.trim().toLowerCase() === 'off') return null;
  return parseInteger(raw, source, kind === 'port-or-off' ? ' or "off"' : '');
}

/** Decimal integers only: `Number()` would take "0x10", "1e3" and "" (as 0), none of which a user means as a port. */
export function parseInteger(raw: string, source: string, alternative = ''): number {
  const text = raw.trim();
  const value = Number(text);
  if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new UsageError(`${source} must be an integer${alternative}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const SPEC = /^(\d+)(?:\/(\d+)(?:\/(\d+))?)?=(.*)$/s;
const SPEC_KEYS = new Set(['strategy', 'hashBy', 'notify']);

/**
 * `SERVERTYPE[/WORLDID[/INSTID]]=ENDPOINT[,ENDPOINT...][,key=value...]` → a route rule. Items holding `=` are
 * options (an endpoint never does); ranges and endpoint syntax are left to `resolveConfig`.
 */
export function parseRouteSpec(spec: string, source: string): RouteRule {
  const bad = (why: string) => new UsageError(`${source} ${JSON.stringify(spec)}: ${why} (syntax: SERVERTYPE[/WORLDID[/INSTID]]=HOST:PORT[,HOST:PORT...]; see actorgate start --help)`);
  const match = SPEC.exec(spec.trim());
  if (!match) {
    if (!spec.includes('=')) throw bad('missing "=" between the server type and the endpoints');
    throw bad('the part before "=" must be SERVERTYPE[/WORLDID[/INSTID]], decimal integers');
  }
  const rule: RouteRule = { serverType: Number(match[1]), endpoints: [] };
  if (match[2] !== undefined) rule.worldId = Number(match[2]);
  if (match[3] !== undefined) rule.instId = Number(match[3]);
  for (const item of match[4]!.split(',').map((part) => part.trim())) {
    if (item === '') throw bad('empty item (two commas in a row, or a trailing comma)');
    const eq = item.indexOf('=');
    if (eq < 0) {
      rule.endpoints.push(item);
      continue;
    }
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (!SPEC_KEYS.has(key)) throw bad(`unknown option "${key}" (expected strategy, hashBy or notify)`);
    if (key === 'strategy') rule.strategy = value as RouteRule['strategy'];
    else if (key === 'hashBy') rule.hashBy = value as RouteRule['hashBy'];
    else if (value === 'true' || value === 'false') rule.notify = value === 'true';
    else throw bad(`notify must be true or false, got "${value}"`);
  }
  if (rule.endpoints.length === 0) throw bad('no endpoint');
  return rule;
}

function parseEnvRoutes(raw: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`${ENV.routes} is not valid JSON (${jsonReason(err)}); expected an array of route rules or specs`);
  }
  if (!Array.isArray(parsed)) throw new UsageError(`${ENV.routes} must be a JSON array of route rules or specs`);
  // rule objects pass through untouched so resolveConfig reports their fields as routes[i].…
  return parsed.map((item, i) => (typeof item === 'string' ? parseRouteSpec(item, `${ENV.routes}[${i}]`) : item));
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : err instanceof Error ? err.message : String(err);
    throw new UsageError(`cannot read config file ${file}: ${why}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const offset = jsonErrorOffset(text);
    const { line, column } = lineColumn(text, offset);
    throw new UsageError(`cannot parse config file ${file} at line ${line}, column ${column}: ${jsonReason(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`config file ${file} must hold a JSON object, got ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`);
  }
  return parsed as Record<string, unknown>;
}

/** V8's message without the parts that repeat the input or give a raw offset (the caller gives line and column). */
function jsonReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message
    .replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '')
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/^Unexpected end of JSON input$/, 'unexpected end of input');
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

const UNICODE_ESCAPE = /u[0-9a-fA-F]{4}/y;

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * Offset of the first JSON syntax error in `text`. Node 20's JSON.parse gives a position for some errors and not
 * others ("Unexpected token '}', ... is not valid JSON"), so the position comes from this small scanner instead.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const space = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail();
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        i++;
        UNICODE_ESCAPE.lastIndex = i;
        if (UNICODE_ESCAPE.test(text)) i += 5;
        else if ('"\\/bfnrt'.includes(text[i] ?? 'x')) i++;
        else fail();
      } else i++;
    }
  };
  const digits = () => {
    if (!isDigit(text[i])) fail();
    while (isDigit(text[i])) i++;
  };
  const number = () => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else digits();
    if (text[i] === '.') {
      i++;
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits();
    }
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          space();
          if (text[i] !== '"') fail();
          string();
          space();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return string();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    if (c === '-' || isDigit(c)) return number();
    fail();
  };
  try {
    value();
    space();
    if (i < text.length) fail();
  } catch (offset) {
    if (typeof offset === 'number') return offset;
    throw offset;
  }
  return text.length; // valid; the caller only asks after JSON.parse failed
}

/** Sets `a.b.c`, creating sections; leaves a section that is not an object alone so resolveConfig reports it. */
function setField(target: Record<string, unknown>, field: string, value: unknown): void {
  const keys = field.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (node[key] === undefined) node[key] = {};
    const child = node[key];
    if (typeof child !== 'object' || child === null || Array.isArray(child)) return;
    node = child as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** Longest recorded prefix of `field`: `routes[0].endpoints[1]` → `routes[0]` → `routes`. */
function originOf(origins: ReadonlyMap<string, string>, field: string): string | undefined {
  for (let current = field; ; ) {
    const found = origins.get(current);
    if (found !== undefined) return found;
    const parent = current.replace(/(?:\.[^.[\]]+|\[\d+\])$/, '');
    if (parent === current || parent === '') return undefined;
    current = parent;
  }
}
