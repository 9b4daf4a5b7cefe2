import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root (the folder with package.json and proto/). Sources run from `src/` under tsx and from
 * `dist/src/` once compiled, so the depth differs; walk up instead of counting `..`.
 */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('actorgate: package root (package.json + proto/) not found');
    dir = parent;
  }
}

export const packageRoot = findPackageRoot();
export const protoDir = join(packageRoot, 'proto');

/** True when this module runs from TypeScript sources (tsx), false when compiled. */
export const runningFromSource = import.meta.url.endsWith('.ts');
