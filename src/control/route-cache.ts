/**
 * The local copy of the last good route document (`control.cacheFile`): written after every document the gateway
 * accepted from Redis, read at start when Redis does not answer, so a gateway restarted during a Redis outage serves
 * the table it last knew instead of the config file's. Written to a temporary file and renamed over the old one, so a
 * reader never sees half a document. Read back through the same check as Redis's copy.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseRouteDocument, type RouteDocument } from './route-document.ts';

/** `control.cacheFile`, or its default: the system's temporary directory, one file per gateway name. */
export function cacheFileOf(cacheFile: string | null, name: string): string {
  return cacheFile ?? join(tmpdir(), `actorgate-routes-${name.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

export async function writeRouteCache(file: string, doc: RouteDocument): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(doc)}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

/** The cached document, or undefined when there is none; throws (a ConfigError naming the field) when it is bad. */
export async function readRouteCache(file: string, maxPayloadBytes: number): Promise<RouteDocument | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseRouteDocument(text, maxPayloadBytes);
}
