/**
 * Builds the native load generator (bench/native/loadgen.c) at bench time with the machine's C compiler (`$CC`, else
 * `cc`), into bench/native/build/ under a name that carries the source's hash, so an edited source is rebuilt and an
 * unchanged one is not. Where no compiler is found or the build fails, the caller falls back to the Node generator
 * and reports why.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ThreadRequest } from './loadgen-thread.ts';

const nativeDir = resolve(import.meta.dirname, '..', 'native');

export type NativeBuild = { binary: string } | { reason: string };

export function buildNativeLoadgen(): NativeBuild {
  const source = resolve(nativeDir, 'loadgen.c');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const binary = resolve(nativeDir, 'build', `loadgen-${hash}`);
  if (existsSync(binary)) return { binary };
  mkdirSync(resolve(nativeDir, 'build'), { recursive: true });
  const compiler = process.env.CC ?? 'cc';
  const partial = `${binary}.${process.pid}.tmp`;
  try {
    execFileSync(compiler, ['-O2', '-Wall', '-pthread', '-o', partial, source, '-lm'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    const detail = e.code === 'ENOENT' ? 'not found' : (e.stderr?.toString().trim().split('\n')[0] ?? e.message);
    return { reason: `${compiler}: ${detail}` };
  }
  renameSync(partial, binary); // atomic: a concurrent build never runs a half-written file
  return { binary };
}

/** One request as the native generator reads it: whitespace-separated fields on one line (bench/native/loadgen.c). */
export function nativeLine(t: number, request: ThreadRequest): string {
  switch (request.type) {
    case 'connect':
      return [request.id, t, 'connect', request.host, request.port, request.concurrency, request.protocol || '-', request.groups.length, ...request.groups.flatMap((g) => [g.serverId >>> 0, g.count])].join(' ');
    case 'run': {
      const { spec } = request;
      const loads = spec.groups.flatMap((g) => (g.mode === 'closed' ? ['c', g.window] : g.mode === 'open' ? ['o', g.rate] : ['i', 0]));
      return [request.id, t, 'run', spec.payloadBytes, spec.warmupMs, spec.measureMs, spec.drainMs, spec.groups.length, ...loads].join(' ');
    }
    case 'disconnect':
      return [request.id, t, 'disconnect'].join(' ');
  }
}
