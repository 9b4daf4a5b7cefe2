import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { main, type CliIo } from '../../../src/cli/main.ts';
import { ApiKeyChecker, hashApiKey } from '../../../src/core/api-keys.ts';
import { resolveConfig } from '../../../src/core/options.ts';

/** Runs `actorgate <argv>` with `input` on stdin; returns the exit code and what it wrote. */
async function run(argv: string[], input: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    signals: { on: () => {}, off: () => {} },
    exit: () => assert.fail('hash-key never exits the process'),
    stdin: (async function* () {
      yield* input;
    })(),
  };
  const code = await main(argv, {}, io);
  return { code, stdout, stderr };
}

describe('actorgate hash-key', () => {
  it('makes a random key and prints it with its hash, which the config takes and the checker matches', async () => {
    const { code, stdout, stderr } = await run(['hash-key']);
    assert.equal(code, 0);
    const match = /^key {3}([A-Za-z0-9_-]{43})\nhash {2}(sha256:[0-9a-f]{64})\n$/.exec(stdout);
    assert.ok(match, stdout);
    const [, key, hash] = match;
    assert.equal(hash, hashApiKey(key!));
    assert.deepEqual(resolveConfig({ push: { apiKeys: [hash!] } }).push.apiKeys, [hash]);
    assert.equal(new ApiKeyChecker([hash!]).check(key), 'ok');
    assert.match(stderr, /push\.apiKeys or admin\.apiKeys/);
    assert.notEqual((await run(['hash-key'])).stdout, stdout, 'a new key each time');
  });

  it('--stdin prints only the hash of the key read, without its line break', async () => {
    const key = 'a-key-from-a-vault-0123456789';
    for (const input of [[key], [`${key}\n`], [`${key}\r\n`], [key.slice(0, 5), key.slice(5)]]) {
      const { code, stdout } = await run(['hash-key', '--stdin'], input);
      assert.equal(code, 0);
      assert.equal(stdout, `${hashApiKey(key)}\n`, JSON.stringify(input));
    }
  });

  it('--stdin refuses an empty, short, spaced or oversized key with exit code 2', async () => {
    for (const [input, why] of [
      [[''], /no key/],
      [['short-key\n'], /shorter than 16/],
      [['two words in the key\n'], /visible ASCII/],
      [['k'.repeat(5000)], /more than 4096 bytes/],
    ] as const) {
      const { code, stdout, stderr } = await run(['hash-key', '--stdin'], [...input]);
      assert.equal(code, 2);
      assert.equal(stdout, '');
      assert.match(stderr, why);
    }
  });

  it('takes no key as an argument, and --help shows the help', async () => {
    const positional = await run(['hash-key', 'my-secret-key-0123456789']);
    assert.equal(positional.code, 2);
    assert.match(positional.stderr, /unexpected argument/);
    assert.equal((await run(['hash-key', '--key', 'x'])).code, 2);
    const help = await run(['hash-key', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /actorgate hash-key \[--stdin\]/);
  });
});
