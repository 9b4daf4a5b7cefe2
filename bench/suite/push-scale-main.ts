/**
 * The push-scale scenario alone (bench/suite/push-scale.ts), outside the suite: starts the rig, runs it once, and
 * prints its figures (JSON, then the rendered subsection) to stdout. BENCHMARKS.md is not touched: `npm run bench`
 * writes it.
 *
 *   node --import tsx bench/suite/push-scale-main.ts [--quick] [--connections N] [--from-source]
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { intFlag, parseFlags } from '../lib/args.ts';
import { pushScale, pushScaleSettings } from './push-scale.ts';
import { renderPushScale } from './report-push-scale.ts';
import { Rig } from './rig.ts';

const HELP = `Usage: node --import tsx bench/suite/push-scale-main.ts [options]

  --quick           3,000 connections, a 5 s window
  --connections N   sessions the gateway holds (default 19000; --quick: 3000), split over two receiver processes
  --from-source     run actorgate from src/ instead of dist/
`;

const values = parseFlags(
  process.argv.slice(2),
  { quick: { type: 'boolean', default: false }, connections: { type: 'string' }, 'from-source': { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  HELP,
);
const quick = values.quick!;
const settings = pushScaleSettings(quick, intFlag(values, 'connections', 100, 19_900, quick ? 3000 : 19_000));
if (!values['from-source'] && !existsSync(resolve(import.meta.dirname, '../../dist/src/gateway.js'))) throw new Error('dist/ is missing: run `npm run build` first');
const rig = new Rig(1, values['from-source']);
try {
  await rig.start();
  const result = await pushScale(rig, settings);
  process.stdout.write(`${JSON.stringify({ ...result, push: { ...result.push, histogram: undefined } }, null, 2)}\n\n${renderPushScale(result)}\n`);
} finally {
  await rig.close();
}
