/**
 * `actorgate hash-key`: makes an API key and the hash that `push.apiKeys` / `admin.apiKeys` list (core/api-keys.ts).
 * Without flags it generates a random key and prints both; with `--stdin` it hashes a key read from standard input
 * and prints only the hash. A key is never taken from the command line, where shell history and `ps` would keep it.
 */
import { API_KEY_FORM, generateApiKey, hashApiKey, MIN_API_KEY_LENGTH } from '../core/api-keys.ts';

/** The longest input `--stdin` reads: far above any key, low enough that a wrong pipe fails fast. */
const MAX_STDIN_BYTES = 4096;

export interface HashKeyIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  stdin: AsyncIterable<string | Uint8Array>;
}

/** Exit code: 0, or 2 for a key read from stdin that cannot be used. */
export async function runHashKey(fromStdin: boolean, io: HashKeyIo): Promise<number> {
  if (!fromStdin) {
    const key = generateApiKey();
    io.stdout.write(`key   ${key}\nhash  ${hashApiKey(key)}\n`);
    io.stderr.write(
      'actorgate: give the key to the caller (header X-Api-Key or Authorization: Bearer; gRPC metadata x-api-key or\n' +
        '  authorization); list the hash in push.apiKeys or admin.apiKeys. The key is printed once and kept nowhere.\n',
    );
    return 0;
  }
  const key = await readKey(io.stdin);
  const problem =
    key === undefined
      ? `more than ${MAX_STDIN_BYTES} bytes on stdin`
      : key === ''
        ? 'no key on stdin'
        : !API_KEY_FORM.test(key)
          ? 'the key may hold only visible ASCII characters (no spaces), as a header carries it'
          : key.length < MIN_API_KEY_LENGTH
            ? `the key is shorter than ${MIN_API_KEY_LENGTH} characters: use a random one (actorgate hash-key makes one)`
            : undefined;
  if (problem !== undefined) {
    io.stderr.write(`actorgate: hash-key --stdin: ${problem}\n`);
    return 2;
  }
  io.stdout.write(`${hashApiKey(key!)}\n`);
  return 0;
}

/** Standard input without one trailing line break; undefined when it is over MAX_STDIN_BYTES. */
async function readKey(stdin: AsyncIterable<string | Uint8Array>): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    size += bytes.length;
    if (size > MAX_STDIN_BYTES) return undefined;
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
