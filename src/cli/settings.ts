/**
 * The table of scalar settings reachable from a flag, an `ACTORGATE_*` variable and a config field. The parser
 * (args.ts) and `--help` (help-text.ts) both read it, so a setting cannot be parsed without being documented.
 */
import { defaultBackend, defaultLimits, defaultRestart, defaultShutdown } from '../core/options.ts';

export type Kind = 'int' | 'number' | 'string' | 'port-or-off' | 'list';

/** One scalar setting reachable from a flag, an environment variable and a config field. */
export interface Setting {
  /** Without the leading `--`. */
  flag: string;
  /** Always `ACTORGATE_` + the flag in capitals with `-` as `_` (envName). */
  env: string;
  /** Dotted config path (`listen.port`). */
  field: string;
  kind: Kind;
  /** Set for the settings derived from a defaults object: the section's name (`limits`). */
  section?: string;
}

/** `--limits-max-payload-bytes` → `ACTORGATE_LIMITS_MAX_PAYLOAD_BYTES`. */
export function envName(flag: string): string {
  return `ACTORGATE_${flag.toUpperCase().replace(/-/g, '_')}`;
}

function kebab(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function explicit(flag: string, field: string, kind: Kind): Setting {
  return { flag, env: envName(flag), field, kind };
}

/** Every field of a section with numeric defaults: `--<section>-<field in kebab case>`. */
function sectionSettings(section: string, defaults: object, kinds: Record<string, Kind> = {}): Setting[] {
  return Object.keys(defaults).map((key) => {
    const flag = `${section}-${kebab(key)}`;
    return { flag, env: envName(flag), field: `${section}.${key}`, kind: kinds[key] ?? 'int', section };
  });
}

/** The sections whose every field is a flag, in help order. */
export const SECTIONS = {
  limits: defaultLimits,
  backend: defaultBackend,
  shutdown: defaultShutdown,
  restart: defaultRestart,
} as const;

export const SETTINGS: readonly Setting[] = [
  explicit('workers', 'workers', 'int'),
  explicit('host', 'listen.host', 'string'),
  explicit('port', 'listen.port', 'int'),
  explicit('admin-host', 'admin.host', 'string'),
  explicit('admin-port', 'admin.port', 'port-or-off'),
  explicit('push-host', 'push.host', 'string'),
  explicit('push-port', 'push.port', 'port-or-off'),
  explicit('redis', 'redis.url', 'string'),
  explicit('redis-prefix', 'redis.prefix', 'string'),
  explicit('name', 'name', 'string'),
  explicit('node-id', 'nodeId', 'int'),
  explicit('topics-allow', 'topics.allow', 'list'),
  explicit('log-level', 'log.level', 'string'),
  explicit('log-destination', 'log.destination', 'string'),
  explicit('log-max-buffer-bytes', 'log.maxBufferBytes', 'int'),
  ...sectionSettings('limits', SECTIONS.limits),
  ...sectionSettings('backend', SECTIONS.backend, { reconnectMultiplier: 'number' }),
  ...sectionSettings('shutdown', SECTIONS.shutdown),
  ...sectionSettings('restart', SECTIONS.restart),
];
