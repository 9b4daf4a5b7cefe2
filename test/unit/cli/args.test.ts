import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOptions, HELP_TEXT, jsonErrorOffset, parseRouteSpec, SETTINGS, UsageError, type Setting } from '../../../src/cli/args.ts';
import { envName } from '../../../src/cli/settings.ts';
import { CONFIG_KEYS, DEFAULT_PORTS, ROUTE_KEYS, SECTION_KEYS, resolveConfig } from '../../../src/core/options.ts';
import { staticDefault } from '../../../src/core/settings-table.ts';
import { ConfigError } from '../../../src/core/errors.ts';

let dir: string;
let fileCount = 0;

function configFile(content: unknown): string {
  const file = join(dir, `config-${++fileCount}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

/** The value at a dotted path (`listen.port`) of the options. */
function at(options: object, field: string): unknown {
  return field.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], options);
}

/** A value of the setting's kind, as typed on a command line, and what the parser makes of it. */
function sample(setting: Setting, variant: 0 | 1): [string, unknown] {
  switch (setting.kind) {
    case 'int':
      return variant === 0 ? ['3', 3] : ['4', 4];
    case 'number':
      return variant === 0 ? ['1.5', 1.5] : ['2.25', 2.25];
    case 'port-or-off':
      return variant === 0 ? ['off', null] : ['7123', 7123];
    case 'list':
      return variant === 0 ? ['a.*, b.*', ['a.*', 'b.*']] : ['c.*', ['c.*']];
    case 'string':
      return variant === 0 ? ['from-env', 'from-env'] : ['from-flag', 'from-flag'];
    case 'bool':
      return variant === 0 ? ['true', true] : ['false', false];
  }
}

/** Asserts buildOptions throws a UsageError whose message matches every pattern. */
function usageError(argv: string[], env: NodeJS.ProcessEnv, ...patterns: RegExp[]): void {
  assert.throws(
    () => buildOptions(argv, env),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, `expected UsageError, got ${String(err)}`);
      assert.equal(err.code, 'ERR_ACTORGATE_USAGE');
      for (const pattern of patterns) assert.match(err.message, pattern);
      return true;
    },
  );
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'actorgate-cli-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('buildOptions: commands', () => {
  it('shows help for no command, help, --help, -h and <command> --help', () => {
    for (const argv of [[], ['help'], ['--help'], ['-h'], ['start', '--help'], ['start', '--port', '1', '-h'], ['demo', '--help']]) {
      assert.equal(buildOptions(argv, {}).command, 'help', argv.join(' '));
    }
  });

  it('prints the version for --version, -v and version', () => {
    for (const argv of [['--version'], ['-v'], ['version']]) assert.equal(buildOptions(argv, {}).command, 'version');
  });

  it('refuses an unknown command or a leading unknown flag, pointing at --help', () => {
    usageError(['stat'], {}, /unknown command "stat"/, /actorgate --help/);
    usageError(['--port', '1'], {}, /unknown option --port/, /--help/);
  });

  it('refuses an unknown flag and a stray argument with a hint to --help', () => {
    usageError(['start', '--bogus'], {}, /unknown option --bogus/, /actorgate start --help/);
    usageError(['start', '--pull-port=1'], {}, /unknown option --pull-port/);
    usageError(['start', 'extra'], {}, /unexpected argument "extra"/, /--help/);
    usageError(['demo', '--host', 'x'], {}, /unknown option --host for "actorgate demo"/, /actorgate demo --help/);
  });

  it('says which flag lacks its value', () => {
    usageError(['start', '--port'], {}, /option --port needs a value/);
    usageError(['start', '--port', '--workers', '2'], {}, /option --port needs a value/);
  });
});

describe('buildOptions: start', () => {
  it('with no file, variables or flags, sets only its own default (log level info); the rest comes from resolveConfig', () => {
    const { command, options, configFile } = buildOptions(['start'], {});
    assert.equal(command, 'start');
    assert.deepEqual(options, { log: { level: 'info' } });
    assert.equal(configFile, undefined);
    assert.equal(resolveConfig(options).log.level, 'info', 'the command logs each connection');
    assert.equal(resolveConfig({}).log.level, 'warn', 'an embedded gateway does not');
  });

  it('its own log level default is the lowest layer: the file, a variable and a flag each beat it', () => {
    const file = configFile({ log: { level: 'debug', destination: 'stderr' } });
    assert.deepEqual(buildOptions(['start'], { ACTORGATE_CONFIG: file }).options.log, { level: 'debug', destination: 'stderr' });
    assert.equal(buildOptions(['start'], { ACTORGATE_CONFIG: file, ACTORGATE_LOG_LEVEL: 'error' }).options.log?.level, 'error');
    assert.equal(buildOptions(['start', '--log-level', 'silent'], { ACTORGATE_LOG_LEVEL: 'error' }).options.log?.level, 'silent');
    // A file section holding something else is left for resolveConfig to report, not papered over.
    const broken = buildOptions(['start'], { ACTORGATE_CONFIG: configFile({ log: 'loud' }) });
    assert.throws(() => resolveConfig(broken.options), (err: unknown) => err instanceof ConfigError && err.field === 'log');
  });

  it('layers config file < ACTORGATE_* variables < flags, one field at a time', () => {
    const file = configFile({
      name: 'from-file',
      workers: 3,
      listen: { host: '10.1.1.1', port: 8000 },
      admin: { port: 9000 },
      log: { level: 'debug' },
      topics: { allow: ['room.*'] },
    });
    const env = { ACTORGATE_CONFIG: file, ACTORGATE_WORKERS: '4', ACTORGATE_PORT: '8100', ACTORGATE_NAME: 'from-env' };
    const cli = buildOptions(['start', '--port', '8200', '--log-level=warn'], env);
    assert.equal(cli.configFile, file);
    assert.deepEqual(cli.options, {
      name: 'from-env',
      workers: 4,
      listen: { host: '10.1.1.1', port: 8200 },
      admin: { port: 9000 },
      log: { level: 'warn' },
      topics: { allow: ['room.*'] },
    });
    assert.equal(cli.origin('listen.port'), '--port');
    assert.equal(cli.origin('workers'), 'ACTORGATE_WORKERS');
    assert.equal(cli.origin('listen.host'), `config file ${file}`);

    const config = resolveConfig(cli.options);
    assert.equal(config.listen.port, 8200);
    assert.equal(config.listen.host, '10.1.1.1');
    assert.equal(config.workers, 4);
    assert.equal(config.admin.port, 9000);
  });

  it('takes --config over ACTORGATE_CONFIG', () => {
    const envFile = configFile({ name: 'env-file' });
    const flagFile = configFile({ name: 'flag-file' });
    const cli = buildOptions(['start', '--config', flagFile], { ACTORGATE_CONFIG: envFile });
    assert.equal(cli.options.name, 'flag-file');
    assert.equal(cli.configFile, flagFile);
  });

  it('an out-of-range value from a flag or a variable fails resolveConfig naming the field and where it came from', () => {
    for (const setting of SETTINGS) {
      const { row } = setting;
      if (row.kind !== 'int') continue;
      for (const [argv, env, source] of [
        [['start', `--${setting.flag}`, String(row.max + 1)], {}, `--${setting.flag}`],
        [['start'], { [setting.env]: String(row.min - 1) }, setting.env],
      ] as const) {
        const cli = buildOptions(argv, env);
        assert.throws(
          () => resolveConfig(cli.options),
          (err: unknown) => err instanceof ConfigError && err.field === setting.field && cli.origin(err.field) === source,
          `${source} out of range`,
        );
      }
    }
  });

  it('maps every setting of the table from its variable and its flag, and the flag wins', () => {
    for (const setting of SETTINGS) {
      const [envRaw, envValue] = sample(setting, 0);
      const [flagRaw, flagValue] = sample(setting, 1);
      const fromEnv = buildOptions(['start'], { [setting.env]: envRaw }).options;
      assert.deepEqual(at(fromEnv, setting.field), envValue, `${setting.env} sets ${setting.field}`);
      const both = buildOptions(['start', `--${setting.flag}`, flagRaw], { [setting.env]: envRaw });
      assert.deepEqual(at(both.options, setting.field), flagValue, `--${setting.flag} beats ${setting.env}`);
      assert.equal(both.origin(setting.field), `--${setting.flag}`);
    }
  });

  it('ACTORGATE_* variables for push, redis, workers, limits and backend take effect over the file, and flags beat them', () => {
    const file = configFile({ workers: 1, push: { port: 7500 }, limits: { maxPayloadBytes: 100 }, backend: { mailboxCapacity: 10 } });
    const env = {
      ACTORGATE_CONFIG: file,
      ACTORGATE_PUSH_PORT: '7600',
      ACTORGATE_REDIS: 'redis://10.0.0.9:6379',
      ACTORGATE_WORKERS: '3',
      ACTORGATE_LIMITS_MAX_PAYLOAD_BYTES: '2048',
      ACTORGATE_LIMITS_IDLE_TIMEOUT_MS: '0',
      ACTORGATE_BACKEND_MAILBOX_CAPACITY: '64',
      ACTORGATE_BACKEND_RECONNECT_MULTIPLIER: '1.5',
      ACTORGATE_SHUTDOWN_FLUSH_TIMEOUT_MS: '250',
    };
    const fromEnv = resolveConfig(buildOptions(['start'], env).options);
    assert.equal(fromEnv.push.port, 7600);
    assert.deepEqual(fromEnv.redis, { url: 'redis://10.0.0.9:6379', cluster: null, prefix: 'actorgate:', healthCheckMs: 5000 });
    assert.equal(fromEnv.workers, 3);
    assert.equal(fromEnv.limits.maxPayloadBytes, 2048);
    assert.equal(fromEnv.limits.idleTimeoutMs, 0);
    assert.equal(fromEnv.backend.mailboxCapacity, 64);
    assert.equal(fromEnv.backend.reconnectMultiplier, 1.5);
    assert.equal(fromEnv.shutdown.flushTimeoutMs, 250);
    assert.equal(resolveConfig(buildOptions(['start'], { ...env, ACTORGATE_PUSH_PORT: 'off' }).options).push.port, null);

    const flags = ['--push-port', 'off', '--redis', 'redis://10.0.0.10:6379', '--workers', '2', '--limits-max-payload-bytes', '4096'];
    flags.push('--backend-mailbox-capacity', '128', '--backend-reconnect-multiplier', '3', '--shutdown-flush-timeout-ms', '500');
    const fromFlags = resolveConfig(buildOptions(['start', ...flags], env).options);
    assert.equal(fromFlags.push.port, null);
    assert.equal(fromFlags.redis?.url, 'redis://10.0.0.10:6379');
    assert.equal(fromFlags.workers, 2);
    assert.equal(fromFlags.limits.maxPayloadBytes, 4096);
    assert.equal(fromFlags.limits.idleTimeoutMs, 0, 'a variable the flags do not name still applies');
    assert.equal(fromFlags.backend.mailboxCapacity, 128);
    assert.equal(fromFlags.backend.reconnectMultiplier, 3);
    assert.equal(fromFlags.shutdown.flushTimeoutMs, 500);
  });

  it('a section that is null in the file does not swallow its flag or variable ("redis": null with --redis)', () => {
    const file = configFile({ redis: null, listen: { port: 7000 } });
    const fromFlag = buildOptions(['start', '--redis', 'redis://127.0.0.1:6390'], { ACTORGATE_CONFIG: file });
    assert.deepEqual(fromFlag.options.redis, { url: 'redis://127.0.0.1:6390' });
    assert.equal(resolveConfig(fromFlag.options).redis?.url, 'redis://127.0.0.1:6390');
    const withNullPush = configFile({ redis: null, push: null });
    const fromEnv = buildOptions(['start'], { ACTORGATE_CONFIG: withNullPush, ACTORGATE_REDIS: 'redis://127.0.0.1:6391', ACTORGATE_PUSH_PORT: '7009' });
    assert.equal(resolveConfig(fromEnv.options).redis?.url, 'redis://127.0.0.1:6391');
    assert.equal(resolveConfig(fromEnv.options).push.port, 7009);
    assert.equal(fromEnv.origin('redis.url'), 'ACTORGATE_REDIS');
    // Without an override, null stays null: Redis off.
    assert.equal(resolveConfig(buildOptions(['start'], { ACTORGATE_CONFIG: configFile({ redis: null }) }).options).redis, null);
  });

  it('names the flag or variable whose value is not a number, and splits list values on commas', () => {
    usageError(['start', '--backend-reconnect-multiplier', 'fast'], {}, /--backend-reconnect-multiplier must be a decimal number, got "fast"/);
    usageError(['start'], { ACTORGATE_BACKEND_RECONNECT_MULTIPLIER: '1e3' }, /ACTORGATE_BACKEND_RECONNECT_MULTIPLIER must be a decimal number/);
    usageError(['start', '--limits-max-violations', '2.5'], {}, /--limits-max-violations must be an integer/);
    assert.deepEqual(resolveConfig(buildOptions(['start', '--topics-allow', 'room.*,chat.*'], {}).options).topics.allow, ['room.*', 'chat.*']);
  });

  it('turns --admin-port off and ACTORGATE_ADMIN_PORT=off into a disabled admin server', () => {
    assert.equal(resolveConfig(buildOptions(['start', '--admin-port', 'off'], {}).options).admin.port, null);
    assert.equal(resolveConfig(buildOptions(['start'], { ACTORGATE_ADMIN_PORT: 'OFF' }).options).admin.port, null);
    const file = configFile({ admin: { port: null } });
    assert.equal(buildOptions(['start', '--admin-port', '7005'], { ACTORGATE_CONFIG: file }).options.admin?.port, 7005);
  });

  it('treats an empty variable as unset', () => {
    assert.deepEqual(buildOptions(['start'], { ACTORGATE_PORT: '', ACTORGATE_CONFIG: '', ACTORGATE_ROUTES: '' }).options, { log: { level: 'info' } });
  });

  it('names the flag or variable whose value is not an integer', () => {
    usageError(['start', '--workers', 'abc'], {}, /--workers must be an integer, got "abc"/);
    usageError(['start', '--port', '70.5'], {}, /--port must be an integer/);
    usageError(['start', '--port', '0x10'], {}, /--port must be an integer/);
    usageError(['start', '--node-id', ''], {}, /--node-id must be an integer, got ""/);
    usageError(['start', '--admin-port', 'no'], {}, /--admin-port must be an integer or "off", got "no"/);
    usageError(['start'], { ACTORGATE_PORT: '7k' }, /ACTORGATE_PORT must be an integer, got "7k"/);
    usageError(['start'], { ACTORGATE_WORKERS: '1e3' }, /ACTORGATE_WORKERS must be an integer/);
  });

  it('leaves range checks to resolveConfig, and origin() says which flag set the field', () => {
    const cli = buildOptions(['start', '--port', '70000'], {});
    assert.throws(
      () => resolveConfig(cli.options),
      (err: unknown) => err instanceof ConfigError && err.field === 'listen.port' && cli.origin(err.field) === '--port',
    );
  });
});

describe('route specs', () => {
  it('parses SERVERTYPE=ENDPOINT,ENDPOINT as a round-robin rule', () => {
    assert.deepEqual(parseRouteSpec('1=127.0.0.1:7100,127.0.0.1:7101', '--route'), {
      serverType: 1,
      endpoints: ['127.0.0.1:7100', '127.0.0.1:7101'],
    });
  });

  it('parses world and instance ids and the strategy, hashBy and notify options', () => {
    assert.deepEqual(parseRouteSpec('2/5/3=[::1]:7200,backend-b:7200,strategy=consistent-hash,hashBy=user,notify=true', '--route'), {
      serverType: 2,
      worldId: 5,
      instId: 3,
      endpoints: ['[::1]:7200', 'backend-b:7200'],
      strategy: 'consistent-hash',
      hashBy: 'user',
      notify: true,
    });
  });

  it('turns repeated --route flags into routes that resolveConfig accepts', () => {
    const cli = buildOptions(['start', '--route', '1=127.0.0.1:7100,127.0.0.1:7101', '--route', '1/9=127.0.0.1:7102'], {});
    const config = resolveConfig(cli.options);
    assert.deepEqual(
      config.routes.map((rule) => [rule.serverType, rule.worldId, rule.instId, rule.endpoints, rule.strategy]),
      [
        [1, 0, 0, ['127.0.0.1:7100', '127.0.0.1:7101'], 'round-robin'],
        [1, 9, 0, ['127.0.0.1:7102'], 'round-robin'],
      ],
    );
  });

  it('refuses a malformed spec, quoting it and the syntax', () => {
    usageError(['start', '--route', '127.0.0.1:7100'], {}, /--route "127.0.0.1:7100": missing "="/, /SERVERTYPE/);
    usageError(['start', '--route', 'game=127.0.0.1:7100'], {}, /SERVERTYPE\[\/WORLDID/);
    usageError(['start', '--route', '1='], {}, /empty item/);
    usageError(['start', '--route', '1=strategy=round-robin'], {}, /no endpoint/);
    usageError(['start', '--route', '1=a:1,weight=2'], {}, /unknown option "weight"/);
    usageError(['start', '--route', '1=a:1,notify=yes'], {}, /notify must be true or false/);
  });

  it('leaves endpoint syntax to resolveConfig, which names the rule and endpoint set by the flag', () => {
    const cli = buildOptions(['start', '--route', '1=127.0.0.1'], {});
    assert.throws(
      () => resolveConfig(cli.options),
      (err: unknown) => err instanceof ConfigError && err.field === 'routes[0].endpoints[0]' && cli.origin(err.field) === '--route 1=127.0.0.1',
    );
  });

  it('replaces routes as a whole: flags over ACTORGATE_ROUTES over the config file', () => {
    const file = configFile({ routes: [{ serverType: 1, endpoints: ['file:1'] }] });
    const envRoutes = JSON.stringify([{ serverType: 2, endpoints: ['env:2'] }, '3=env:3']);
    assert.deepEqual(buildOptions(['start'], { ACTORGATE_CONFIG: file }).options.routes, [{ serverType: 1, endpoints: ['file:1'] }]);
    assert.deepEqual(buildOptions(['start'], { ACTORGATE_CONFIG: file, ACTORGATE_ROUTES: envRoutes }).options.routes, [
      { serverType: 2, endpoints: ['env:2'] },
      { serverType: 3, endpoints: ['env:3'] },
    ]);
    assert.deepEqual(buildOptions(['start', '--route', '4=flag:4'], { ACTORGATE_CONFIG: file, ACTORGATE_ROUTES: envRoutes }).options.routes, [
      { serverType: 4, endpoints: ['flag:4'] },
    ]);
  });

  it('refuses ACTORGATE_ROUTES that is not a JSON array', () => {
    usageError(['start'], { ACTORGATE_ROUTES: '1=a:1' }, /ACTORGATE_ROUTES is not valid JSON/);
    usageError(['start'], { ACTORGATE_ROUTES: '{"serverType":1}' }, /ACTORGATE_ROUTES must be a JSON array/);
    usageError(['start'], { ACTORGATE_ROUTES: '["1"]' }, /ACTORGATE_ROUTES\[0\] "1": missing "="/);
  });
});

describe('config file errors', () => {
  it('names the file and the line and column of a JSON syntax error', () => {
    const file = configFile('{\n  "name": "g",\n  "workers": }\n');
    usageError(['start', '--config', file], {}, new RegExp(`cannot parse config file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} at line 3, column 14`), /Unexpected token/);
    const trailingComma = configFile('{\n  "name": "g",\n}');
    usageError(['start', '--config', trailingComma], {}, /at line 3, column 1: Expected double-quoted property name/);
    const truncated = configFile('{"listen": {"port": 7000}');
    usageError(['start', '--config', truncated], {}, /at line 1, column 26/);
    // V8 quotes (part of) the input in some messages; the error shows the position instead, on one line
    const long = configFile(`{${'"padding-field": 1, '.repeat(20)}"x": }`);
    usageError(['start', '--config', long], {}, /at line 1, column 407: Unexpected token '\}'$/);
  });

  it('names a missing file and a file that is not an object', () => {
    const missing = join(dir, 'nope.json');
    usageError(['start', '--config', missing], {}, new RegExp(`cannot read config file .*nope\\.json: no such file`));
    usageError(['start'], { ACTORGATE_CONFIG: configFile([1, 2]) }, /must hold a JSON object, got an array/);
  });

  it('lets resolveConfig name a bad field from the file, and origin() names the file', () => {
    const file = configFile({ routes: [{ serverType: 1, endpoints: ['no-port'] }] });
    const cli = buildOptions(['start', '--config', file], {});
    assert.throws(
      () => resolveConfig(cli.options),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.field, 'routes[0].endpoints[0]');
        assert.match(err.message, /^invalid config: routes\[0\]\.endpoints\[0\]: must be "host:port"/);
        assert.equal(cli.origin(err.field), `config file ${file}`);
        return true;
      },
    );
  });

  it('keeps a section that is not an object as is, so resolveConfig reports it rather than the override hiding it', () => {
    const file = configFile({ listen: 'everywhere' });
    const cli = buildOptions(['start', '--port', '7000'], { ACTORGATE_CONFIG: file });
    assert.throws(() => resolveConfig(cli.options), (err: unknown) => err instanceof ConfigError && err.field === 'listen');
  });

  it('finds the same error offset as V8 where V8 reports one', () => {
    for (const text of ['{"a": 1,}', '{"a" 1}', '{"a": 1', '[1 2]', '{"a":"b\n"}', '{} x', '{"a": "\\q"}', '{"a": -}', '{"a": 1.}', '{"a": 1e}', '{"a": 01}', '']) {
      let position: number | undefined;
      try {
        JSON.parse(text);
        assert.fail(`${text} parsed`);
      } catch (err) {
        const match = / at position (\d+)/.exec((err as Error).message);
        position = match ? Number(match[1]) : undefined;
      }
      if (position !== undefined) assert.equal(jsonErrorOffset(text), position, JSON.stringify(text));
    }
    assert.equal(jsonErrorOffset('{"a": }'), 6);
    assert.equal(jsonErrorOffset('{"a": [true, fals]}'), 13);
  });
});

describe('buildOptions: demo', () => {
  it('embeds its defaults: 127.0.0.1:7000, admin 7001, push 7002, topics demo.*, warn, an ephemeral backend port', () => {
    const cli = buildOptions(['demo'], { ACTORGATE_PORT: '9999', ACTORGATE_WORKERS: '8' });
    assert.equal(cli.command, 'demo');
    assert.deepEqual(cli.demo, { backendPort: 0 });
    assert.equal(cli.options.listen?.host, '127.0.0.1');
    assert.equal(cli.options.listen?.port, 7000);
    assert.equal(cli.options.admin?.port, 7001);
    assert.equal(cli.options.push?.port, 7002);
    assert.deepEqual(DEFAULT_PORTS, { listen: 7000, admin: 7001, push: 7002 }, 'the gateway\'s own defaults, too');
    assert.equal(cli.options.log?.level, 'warn', 'the demo prints its own instructions; JSON lines would bury them');
    assert.deepEqual(cli.options.topics, { allow: ['demo.*'] });
    assert.equal(cli.options.workers, undefined, 'workers default to the core count');
    assert.equal(cli.options.routes, undefined, 'main adds the route once the backend has a port');
    resolveConfig(cli.options);
  });

  it('takes --port (0 allowed), --admin-port (or off) and --backend-port', () => {
    const cli = buildOptions(['demo', '--port', '0', '--admin-port', 'off', '--backend-port', '7100'], {});
    assert.equal(cli.options.listen?.port, 0);
    assert.equal(cli.options.admin?.port, null);
    assert.deepEqual(cli.demo, { backendPort: 7100 });
    usageError(['demo', '--backend-port', 'x'], {}, /--backend-port must be an integer/);
    usageError(['demo', '--backend-port', '65536'], {}, /--backend-port must be between 0 and 65535/);
  });
});

describe('HELP_TEXT', () => {
  it('documents every setting of the table (flag, variable, field) and every config field, route field included', () => {
    const missing: string[] = [];
    const need = (word: string, what: string) => {
      if (!new RegExp(`(^|[^\\w-])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w-])`, 'm').test(HELP_TEXT)) missing.push(`${what} ${word}`);
    };
    assert.ok(SETTINGS.length > 30, 'the table covers the sections');
    for (const setting of SETTINGS) {
      need(`--${setting.flag}`, 'flag');
      assert.equal(setting.env, envName(setting.flag), `${setting.flag}: the variable follows the documented rule`);
      // Section fields are listed by flag; their variables follow the rule the help states once.
      if (setting.section === undefined) need(setting.env, 'variable');
      need(setting.field.split('.').at(-1)!, 'field');
    }
    assert.match(HELP_TEXT, /Every flag has a variable: ACTORGATE_ and the flag name in capitals with - as _/);
    // The config file section: one line per top-level key, and each field of a section as "key" (JSON example) or a row.
    const configSection = HELP_TEXT.slice(HELP_TEXT.indexOf('Config file ('), HELP_TEXT.indexOf('demo options:'));
    for (const key of CONFIG_KEYS) if (!new RegExp(`^  ${key} `, 'm').test(configSection)) missing.push(`config key ${key}`);
    for (const [section, keys] of Object.entries(SECTION_KEYS)) {
      for (const key of keys) if (!configSection.includes(`"${key}"`) && !new RegExp(`^    ${key} `, 'm').test(configSection)) missing.push(`${section}.${key}`);
    }
    for (const key of ROUTE_KEYS) if (!configSection.includes(`"${key}"`)) missing.push(`routes[].${key}`);
    for (const word of ['--config', 'ACTORGATE_CONFIG', '--route', 'ACTORGATE_ROUTES', '--backend-port', '--version', 'SERVERTYPE[/WORLDID[/INSTID]]=ENDPOINT']) {
      need(word, 'word');
    }
    assert.deepEqual(missing, [], `help does not mention: ${missing.join(', ')}`);
  });

  it('names each section field next to its default and its own flag', () => {
    for (const setting of SETTINGS.filter((s) => s.section !== undefined)) {
      // The field within its section (`jwt.leewaySec` in auth); a worked-out default is shown as its description.
      const key = setting.field.slice(setting.field.indexOf('.') + 1).replace('.', '\\.');
      const value = setting.row.defaultText ?? String(staticDefault(setting.row));
      assert.match(HELP_TEXT, new RegExp(`^    ${key} +${value} +--${setting.flag}$`, 'm'), setting.field);
    }
  });

  it('states the default of each option the way the command applies it', () => {
    const entry = (flag: string) => HELP_TEXT.slice(HELP_TEXT.indexOf(`\n  --${flag} `), HELP_TEXT.indexOf('\n  --', HELP_TEXT.indexOf(`\n  --${flag} `) + 1));
    assert.match(entry('port'), /Default 7000\./);
    assert.match(entry('admin-port'), /Default 7001\./);
    assert.match(entry('push-port'), /Default 7002\./);
    assert.match(entry('log-level'), /Default info\./, 'the command\'s level, not the library\'s');
    assert.match(entry('log-max-buffer-bytes'), /Default 16777216 \(16 MiB\)\./);
    assert.match(entry('workers'), /Default: the number of CPU cores\./);
    assert.match(HELP_TEXT, /^  log +\{ "level": "info", /m);
    for (const setting of SETTINGS.filter((s) => s.section === undefined)) {
      assert.match(entry(setting.flag), /Default[ :]/, `--${setting.flag} states its default`);
    }
  });
});
