/**
 * Command-line parsing: argv + environment + config file → the command to run and its `GatewayOptions`.
 * Pure apart from reading the config file, so every precedence rule is unit-tested without starting anything.
 * Values are only parsed here (integers, route specs, JSON); `resolveConfig` validates ranges and names the field.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ActorgateError } from '../core/errors.ts';
import type { GatewayOptions, RouteRule } from '../core/options.ts';
import { DEMO_DEFAULTS } from './demo-defaults.ts';
import { DEFAULT_PORTS } from '../core/settings-table.ts';
import type { DrainSettings } from './drain-command.ts';
import { jsonErrorOffset, jsonReason, lineColumn } from './json-position.ts';
import { settingOf, SETTINGS, type Kind, type Setting } from './settings.ts';

export { DEMO_DEFAULTS } from './demo-defaults.ts';
export { HELP_TEXT } from './help-text.ts';
export { jsonErrorOffset } from './json-position.ts';
export { SETTINGS, type Setting } from './settings.ts';

/** The command line itself is wrong (unknown flag, non-integer value, unreadable config file). Exit code 2. */
export class UsageError extends ActorgateError {
  constructor(message: string) {
    super('ERR_ACTORGATE_USAGE', message);
    this.name = 'UsageError';
  }
}

export type Command = 'start' | 'demo' | 'help' | 'version' | 'hash-key' | 'instances' | 'drain';

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
  /** Only for `hash-key`: hash a key read from stdin (`--stdin`) instead of making one. */
  hashKey?: { stdin: boolean };
  /** Only for `instances`: the Redis to read the registry from (null: none configured), and the output form. */
  instances?: { url: string | null; cluster: string[] | null; prefix: string; json: boolean };
  /** Only for `drain`: the admin port to ask, the window override, the key (ACTORGATE_ADMIN_KEY). */
  drain?: DrainSettings;
  /** Absolute path of the config file that was read, if any. */
  configFile?: string;
  /**
   * Where a config field's value came from (`--port`, `ACTORGATE_PORT`, `config file /etc/ag.json`), for error
   * messages. Takes the field as `ConfigError.field` spells it (`routes[0].endpoints[1]`); undefined for a default.
   */
  origin(field: string): string | undefined;
}

const ENV = {
  config: 'ACTORGATE_CONFIG',
  routes: 'ACTORGATE_ROUTES',
} as const;

/** Every `start` flag: one per setting (settings.ts), plus the config file, routes and help. */
const START_FLAGS = {
  config: { type: 'string' },
  ...Object.fromEntries(SETTINGS.map((setting) => [setting.flag, { type: 'string' }] as const)),
  route: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The `start` settings that `demo` takes too, each over its demo default. */
const DEMO_SETTINGS = ['port', 'admin-port', 'push-port', 'log-level'].map(settingOf);

const DEMO_FLAGS = {
  ...Object.fromEntries(DEMO_SETTINGS.map((setting) => [setting.flag, { type: 'string' }] as const)),
  'backend-port': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Settings whose `actorgate` default differs from the library's (log.level: info, not warn). */
const CLI_DEFAULTS = SETTINGS.filter((setting) => setting.row.cliDefault !== undefined);

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
  if (command === 'hash-key') return buildHashKey(rest);
  if (command === 'instances') return buildInstances(rest, env);
  if (command === 'drain') return buildDrain(rest, env);
  if (command.startsWith('-')) throw new UsageError(`unknown option ${command} (see actorgate --help)`);
  throw new UsageError(`unknown command "${command}" (commands: start, demo, hash-key, instances, routes, drain, help; see actorgate --help)`);
}

function buildHashKey(args: readonly string[]): CliInvocation {
  const flags = parseFlags('hash-key', args, { stdin: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (flags.help) return bare('help');
  return { command: 'hash-key', options: {}, hashKey: { stdin: flags.stdin === true }, origin: () => undefined };
}

/** `instances`: the Redis URL and prefix from flags, then variables, then the config file (the start precedence). */
function buildInstances(args: readonly string[], env: NodeJS.ProcessEnv): CliInvocation {
  const flags = parseFlags('instances', args, {
    redis: { type: 'string' },
    'redis-cluster': { type: 'string' },
    'redis-prefix': { type: 'string' },
    config: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) return bare('help');
  const configPath = (flags.config as string | undefined) ?? envValue(env, ENV.config);
  const file = configPath === undefined ? {} : readConfigFile(resolve(configPath));
  const redis = typeof file.redis === 'object' && file.redis !== null ? (file.redis as Record<string, unknown>) : {};
  const pick = (flag: unknown, variable: string, fromFile: unknown): string | undefined =>
    typeof flag === 'string' ? flag : (envValue(env, variable) ?? (typeof fromFile === 'string' ? fromFile : undefined));
  const url = pick(flags.redis, settingOf('redis').env, redis.url) ?? null;
  const seeds = pick(flags['redis-cluster'], settingOf('redis-cluster').env, undefined);
  const fileSeeds = Array.isArray(redis.cluster) ? redis.cluster.map(String) : null;
  const cluster = url !== null ? null : seeds !== undefined ? seeds.split(',').map((seed) => seed.trim()).filter((seed) => seed !== '') : fileSeeds;
  const prefix = pick(flags['redis-prefix'], settingOf('redis-prefix').env, redis.prefix) ?? 'actorgate:';
  return { command: 'instances', options: {}, instances: { url, cluster, prefix, json: flags.json === true }, origin: () => undefined };
}

/** `drain`: the admin URL (default the admin port's default on loopback), --window-ms, the key from the environment. */
function buildDrain(args: readonly string[], env: NodeJS.ProcessEnv): CliInvocation {
  const flags = parseFlags('drain', args, { admin: { type: 'string' }, 'window-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (flags.help) return bare('help');
  const admin = (flags.admin as string | undefined) ?? `http://127.0.0.1:${DEFAULT_PORTS.admin}`;
  if (!/^https?:\/\/[^\s/]+/.test(admin)) throw new UsageError(`--admin must be an http:// or https:// URL, got ${JSON.stringify(admin)}`);
  const drain: DrainSettings = { admin };
  const rawWindow = flags['window-ms'];
  if (typeof rawWindow === 'string') drain.windowMs = parseInteger(rawWindow, '--window-ms');
  const key = envValue(env, 'ACTORGATE_ADMIN_KEY');
  if (key !== undefined) drain.key = key;
  return { command: 'drain', options: {}, drain, origin: () => undefined };
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

  applyLayer(options, origins, SETTINGS, (setting) => envValue(env, setting.env), (setting) => setting.env);
  const envRoutes = envValue(env, ENV.routes);
  if (envRoutes !== undefined) {
    options.routes = parseEnvRoutes(envRoutes);
    origins.set('routes', ENV.routes);
  }
  applyLayer(options, origins, SETTINGS, (setting) => stringFlag(flags, setting), (setting) => `--${setting.flag}`);
  const specs = flags.route as string[] | undefined;
  if (specs !== undefined) {
    options.routes = specs.map((spec) => parseRouteSpec(spec, '--route'));
    origins.set('routes', '--route');
    specs.forEach((spec, i) => origins.set(`routes[${i}]`, `--route ${spec}`));
  }
  // The lowest layer, so the file, a variable or a flag each beat it.
  for (const setting of CLI_DEFAULTS) if (getField(options, setting.field) === undefined) setField(options, setting.field, setting.row.cliDefault);

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
  const options: Record<string, unknown> = {
    name: 'actorgate-demo',
    listen: { host: DEMO_DEFAULTS.host, port: DEMO_DEFAULTS.port },
    admin: { host: DEMO_DEFAULTS.host, port: DEMO_DEFAULTS.adminPort },
    push: { host: DEMO_DEFAULTS.host, port: DEMO_DEFAULTS.pushPort },
    topics: { allow: [...DEMO_DEFAULTS.topics] },
    log: { level: DEMO_DEFAULTS.logLevel },
  };
  applyLayer(options, origins, DEMO_SETTINGS, (setting) => stringFlag(flags, setting), (setting) => `--${setting.flag}`);
  const rawBackendPort = flags['backend-port'];
  const backendPort = typeof rawBackendPort === 'string' ? parseInteger(rawBackendPort, '--backend-port') : DEMO_DEFAULTS.backendPort;
  if (backendPort < 0 || backendPort > 65535) throw new UsageError(`--backend-port must be between 0 and 65535, got ${backendPort}`);
  return { command: 'demo', options: options as GatewayOptions, demo: { backendPort }, origin: (field) => originOf(origins, field) };
}

/** Sets each setting that `rawOf` has a value for, and records `sourceOf` it as the field's origin. */
function applyLayer(
  options: Record<string, unknown>,
  origins: Map<string, string>,
  settings: readonly Setting[],
  rawOf: (setting: Setting) => string | undefined,
  sourceOf: (setting: Setting) => string,
): void {
  for (const setting of settings) {
    const raw = rawOf(setting);
    if (raw === undefined) continue;
    const source = sourceOf(setting);
    setField(options, setting.field, parseValue(raw, setting.kind, source));
    origins.set(setting.field, source);
  }
}

function stringFlag(flags: FlagValues, setting: Setting): string | undefined {
  const raw = flags[setting.flag];
  return typeof raw === 'string' ? raw : undefined;
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
  switch (kind) {
    case 'string':
      return raw;
    case 'list':
      return raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
    case 'number': {
      const text = raw.trim();
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text)) throw new UsageError(`${source} must be a decimal number, got ${JSON.stringify(raw)}`);
      return Number(text);
    }
    case 'port-or-off':
      if (raw.trim().toLowerCase() === 'off') return null;
      return parseInteger(raw, source, ' or "off"');
    case 'int':
      return parseInteger(raw, source);
    case 'bool': {
      const text = raw.trim().toLowerCase();
      if (text !== 'true' && text !== 'false') throw new UsageError(`${source} must be true or false, got ${JSON.stringify(raw)}`);
      return text === 'true';
    }
  }
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

/**
 * Sets a dotted field, creating its parent sections. A parent that is absent or null (`"redis": null` in the file)
 * becomes an object: a flag or variable wins over the file. A parent that is some other non-object (`"listen": "all"`)
 * is left as is, so resolveConfig reports the file's mistake rather than the override hiding it.
 */
function setField(target: Record<string, unknown>, field: string, value: unknown): void {
  const keys = field.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (node[key] === undefined || node[key] === null) node[key] = {};
    const child = node[key];
    if (typeof child !== 'object' || child === null || Array.isArray(child)) return;
    node = child as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function getField(target: Record<string, unknown>, field: string): unknown {
  return field.split('.').reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined), target);
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
