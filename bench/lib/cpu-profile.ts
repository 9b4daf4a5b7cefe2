/**
 * Where CPU time went, from the V8 `.cpuprofile` files `node --cpu-prof --cpu-prof-dir DIR` writes: one per thread,
 * named `CPU.<date>.<time>.<pid>.<threadId>.<seq>.cpuprofile`. Worker threads write their own (also when ended by
 * `terminate()`), and so does each module-loader hooks thread Node 20 starts for `--import tsx` or tsx's `register()`
 * (mostly idle). Self time is summed per function and per category: whose code ran (ours, the harness's, a
 * dependency's, Node's) or what V8 was doing instead (collecting garbage, native work, waiting).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Whose code a sample was in; the last three are V8's pseudo-frames. */
export type Category = 'actorgate' | 'bench' | 'grpc-js' | 'protobufjs' | 'uWebSockets.js' | 'ws' | 'msgpackr' | 'other npm' | 'node internals' | 'garbage collector' | 'program (native, untracked)' | 'idle';

/** One function's self time (summed over every call path it was sampled on). */
export interface FunctionCost {
  functionName: string;
  /**
   * `path:line` (1-based), e.g. "src/backend/stream-actor.ts:120", "node:internal/streams/writable:300",
   * "@grpc/grpc-js/build/src/call-stream.js:50": from the package name for node_modules, repo-relative for the repo.
   * `(native)` for C++ functions. A file run by tsx is whitespace-minified onto one line, so there the line is 1 and a
   * column follows ("src/x.ts:1:358"): it still tells functions apart, but is not a position in the source.
   */
  location: string;
  category: Category;
  selfMs: number;
  /** Of busy (non-idle) time, 0–1. */
  share: number;
}

/** One thread's profile (one file). Lists are sorted by time, descending; idle appears in neither. */
export interface ThreadProfile {
  file: string;
  /** Sampled time, idle included. */
  totalMs: number;
  idleMs: number;
  busyMs: number;
  /** Time per category; `share` is of `busyMs`. */
  byCategory: { category: Category; ms: number; share: number }[];
  top: FunctionCost[];
}

/** Every thread, and the same lists combined over all files (so shares are of all threads' busy time). */
export interface ProfileSummary {
  threads: ThreadProfile[];
  busyMs: number;
  byCategory: { category: Category; ms: number; share: number }[];
  top: FunctionCost[];
}

// The parts of the profile format (DevTools protocol `Profiler.Profile`) read here. Times are in microseconds.
interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples?: number[]; timeDeltas?: number[] }

interface Cost { name: string; location: string; category: Category; us: number }

/** The absolute path of a script url, or undefined for `node:` modules, eval'd code ("[worker eval]") and natives. */
function pathOf(url: string): string | undefined {
  if (url.startsWith('file:')) return fileURLToPath(url).replaceAll('\\', '/');
  return isAbsolute(url) ? url.replaceAll('\\', '/') : undefined;
}

/** "pkg/rest/of/path" for a file under node_modules (the innermost one, for nested installs). */
function inPackage(path: string): string | undefined {
  const at = path.lastIndexOf('/node_modules/');
  return at < 0 ? undefined : path.slice(at + '/node_modules/'.length);
}

/** The repo-relative path, or undefined outside the repo. */
function inRepo(path: string, repo: string): string | undefined {
  const rel = relative(repo, path).replaceAll('\\', '/');
  return rel.startsWith('../') || isAbsolute(rel) ? undefined : rel;
}

function classify(frame: CallFrame, repo: string): Category {
  if (frame.functionName === '(garbage collector)') return 'garbage collector';
  if (frame.functionName === '(program)') return 'program (native, untracked)';
  if (frame.functionName === '(idle)') return 'idle';
  // An empty url is a native function: Node's C++ bindings (fstat, postMessage, writeUtf8String…) get frames of their
  // own. A native addon's methods do not (checked on Node 20): uWebSockets.js's ws.send or app.publish is self time of
  // the JS function calling it, so it counts where that caller does (usually actorgate), and uWS's own event loop,
  // with no JS on the stack, is '(program)'. So the uWebSockets.js category is only its JS wrapper (its loading).
  if (frame.url === '' || frame.url.startsWith('node:')) return 'node internals';
  const path = pathOf(frame.url);
  // Checked before the repo's folders: node_modules lies inside the repo, and packages have their own dist/.
  const pkg = path === undefined ? undefined : inPackage(path);
  if (pkg !== undefined) {
    if (pkg.startsWith('@grpc/')) return 'grpc-js';
    if (/^@?protobufjs\//.test(pkg)) return 'protobufjs';
    if (/^uwebsockets/i.test(pkg)) return 'uWebSockets.js';
    if (pkg.startsWith('ws/')) return 'ws';
    if (/^@?msgpackr/.test(pkg)) return 'msgpackr'; // msgpackr-extract and its per-platform @msgpackr-extract builds
    return 'other npm';
  }
  const rel = path === undefined ? undefined : inRepo(path, repo);
  if (rel !== undefined && /^(src|workers|dist|bin)\//.test(rel)) return 'actorgate';
  // The rest is code the benchmark brought: bench/, test/, and whatever ran from outside the repo (scratch scripts,
  // eval'd worker bootstraps).
  return 'bench';
}

function locate(frame: CallFrame, repo: string): string {
  if (frame.url === '') return /^\(.*\)$/.test(frame.functionName) ? '' : '(native)';
  const path = pathOf(frame.url);
  const where = path === undefined ? frame.url : (inPackage(path) ?? inRepo(path, repo) ?? path);
  if (frame.lineNumber < 0) return where;
  // V8 counts lines and columns from 0. Line 1 with a column past 0 is what tsx's one-line output looks like.
  const column = frame.lineNumber === 0 && frame.columnNumber > 0 ? `:${frame.columnNumber + 1}` : '';
  return `${where}:${frame.lineNumber + 1}${column}`;
}

/** Self time per node id, in µs. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const us = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  if (samples !== undefined && timeDeltas !== undefined && timeDeltas.length === samples.length) {
    // timeDeltas[i] is the gap before sample i, charged to that sample. V8 can emit a small negative delta when
    // samples arrive out of order; it is dropped rather than taken off a function that did not cause it.
    samples.forEach((id, i) => us.set(id, (us.get(id) ?? 0) + Math.max(0, timeDeltas[i]!)));
    return us;
  }
  // Without deltas only counts are left, so the profile's span is spread evenly over its samples.
  const counts = new Map<number, number>();
  if (samples !== undefined) for (const id of samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  else for (const node of profile.nodes) counts.set(node.id, node.hitCount ?? 0);
  const hits = [...counts.values()].reduce((a, b) => a + b, 0);
  const mean = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0;
  for (const [id, count] of counts) us.set(id, count * mean);
  return us;
}

/** Adds one file's self times to `into`, keyed by function. */
function collect(profile: CpuProfile, repo: string, into: Map<string, Cost>): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  for (const [id, us] of selfTimes(profile)) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined || us === 0) continue;
    const name = frame.functionName || '(anonymous)';
    // A function has one node per call path; its frame is the same on all of them. The column separates functions
    // that share a line, which in tsx's one-line output is all of a file's functions.
    const key = `${name}\0${frame.url}\0${frame.lineNumber}\0${frame.columnNumber}`;
    const cost = into.get(key);
    if (cost !== undefined) cost.us += us;
    else into.set(key, { name, location: locate(frame, repo), category: classify(frame, repo), us });
  }
}

function summarise(costs: Map<string, Cost>, top: number) {
  let totalUs = 0;
  let idleUs = 0;
  const perCategory = new Map<Category, number>();
  for (const cost of costs.values()) {
    totalUs += cost.us;
    if (cost.category === 'idle') idleUs += cost.us;
    else perCategory.set(cost.category, (perCategory.get(cost.category) ?? 0) + cost.us);
  }
  const busyUs = totalUs - idleUs;
  const share = (us: number) => (busyUs > 0 ? us / busyUs : 0);
  const byCategory = [...perCategory]
    .map(([category, us]) => ({ category, ms: us / 1000, share: share(us) }))
    .sort((a, b) => b.ms - a.ms);
  const functions = [...costs.values()]
    .filter((cost) => cost.category !== 'idle')
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((c) => ({ functionName: c.name, location: c.location, category: c.category, selfMs: c.us / 1000, share: share(c.us) }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, busyMs: busyUs / 1000, byCategory, top: functions };
}

/**
 * Reads every `.cpuprofile` in a directory (in name order: time, pid, thread id), or the given files, and sums
 * self time per function and per category, for each thread and over all of them.
 * @param filesOrDir a directory (or one profile file), or a list of profile files.
 * @param repoRoot the repo's root: classifies its files (src/, workers/, dist/, bin/ are actorgate; the rest is bench)
 *   and shortens their paths to repo-relative ones.
 * @param top how many functions each `top` list keeps. @default 15
 */
export function summariseProfiles(filesOrDir: string | readonly string[], repoRoot: string, top = 15): ProfileSummary {
  const files = typeof filesOrDir !== 'string' ? [...filesOrDir]
    : statSync(filesOrDir).isFile() ? [filesOrDir]
    : readdirSync(filesOrDir).filter((name) => name.endsWith('.cpuprofile')).sort().map((name) => join(filesOrDir, name));
  const repo = resolve(repoRoot);
  const all = new Map<string, Cost>();
  const threads = files.map((file): ThreadProfile => {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const costs = new Map<string, Cost>();
    collect(profile, repo, costs);
    // Merged by copy: the combined map must not share (and so double-add into) one thread's Cost objects.
    for (const [key, cost] of costs) {
      const seen = all.get(key);
      if (seen !== undefined) seen.us += cost.us;
      else all.set(key, { ...cost });
    }
    return { file, ...summarise(costs, top) };
  });
  const { busyMs, byCategory, top: functions } = summarise(all, top);
  return { threads, busyMs, byCategory, top: functions };
}
