#!/usr/bin/env node
// The `actorgate` command. Runs the compiled CLI from dist/; a dev checkout without a build runs the TypeScript
// sources through tsx (a devDependency) instead.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/src/cli/main.js', import.meta.url);
let cli;
if (existsSync(fileURLToPath(built))) {
  cli = await import(built.href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('actorgate: dist/ is missing and tsx is not installed; run `npm install && npm run build`\n');
    process.exit(1);
  }
  register();
  cli = await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
await cli.run(process.argv.slice(2), process.env);
