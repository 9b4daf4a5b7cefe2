/**
 * The command line's view of the settings table (src/core/settings-table.ts): each row with a flag becomes a
 * `--flag`, an `ACTORGATE_*` variable and a parse kind. The parser (args.ts) and `--help` (help-text.ts) both read
 * this list, so a setting cannot be parsed without being documented.
 */
import { SETTING_ROWS, splitPath, type SettingRow } from '../core/settings-table.ts';
import { AUTH_ROWS } from '../core/options-auth.ts';
import { TLS_ROWS } from '../core/options-tls.ts';

/** How a flag's or variable's text becomes a value; ranges are left to `resolveConfig`. */
export type Kind = 'int' | 'number' | 'string' | 'port-or-off' | 'list' | 'bool';

/** One scalar setting reachable from a flag, an environment variable and a config field. */
export interface Setting {
  /** Without the leading `--`. */
  flag: string;
  /** Always `ACTORGATE_` + the flag in capitals with `-` as `_` (envName). */
  env: string;
  /** Dotted config path (`listen.port`). */
  field: string;
  kind: Kind;
  /** Set for a field of a section that --help lists as rows (TABULATED_SECTIONS): the section's name. */
  section?: string;
  /** Its row of the settings table: range, default, help text. */
  row: SettingRow;
}

/** The sections whose every field --help lists as a row (field, default, flag) rather than as an option. */
export const TABULATED_SECTIONS: readonly string[] = ['registry', 'control', 'limits', 'backend', 'shutdown', 'restart', 'tracing', 'metrics', 'auth'];

/** `--limits-max-payload-bytes` → `ACTORGATE_LIMITS_MAX_PAYLOAD_BYTES`. */
export function envName(flag: string): string {
  return `ACTORGATE_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** `log.maxBufferBytes` → `log-max-buffer-bytes`, unless the row names its own flag (or none). */
export function flagOf(row: SettingRow): string | null {
  if (row.flag !== undefined) return row.flag;
  return row.path.replace(/\./g, '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function kindOf(row: SettingRow): Kind {
  switch (row.kind) {
    case 'int':
      return row.nullable ? 'port-or-off' : 'int';
    case 'number':
    case 'string':
    case 'bool':
      return row.kind;
    case 'enum':
      return 'string';
    case 'globs':
    case 'keyHashes':
      return 'list';
  }
}

export const SETTINGS: readonly Setting[] = [...SETTING_ROWS, ...TLS_ROWS, ...AUTH_ROWS].flatMap((row) => {
  const flag = flagOf(row);
  if (flag === null) return [];
  const section = splitPath(row.path)[0];
  const setting: Setting = { flag, env: envName(flag), field: row.path, kind: kindOf(row), row };
  if (section !== undefined && TABULATED_SECTIONS.includes(section)) setting.section = section;
  return [setting];
});

/** The setting a flag stands for; throws for a flag the table does not have (a programming error). */
export function settingOf(flag: string): Setting {
  const setting = SETTINGS.find((candidate) => candidate.flag === flag);
  if (setting === undefined) throw new Error(`no setting has the flag --${flag}`);
  return setting;
}
