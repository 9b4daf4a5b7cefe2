/**
 * How a worker should key its sessions on the hot path, measured: the work a backend packet's session id costs
 * between the wire and the Session it names (read the fixed64, find the session), for three representations:
 *
 * - `decimal`: the id as a decimal string, from a direct-mapped string cache (what the gateway did before), then a
 *   Map<string, Session> lookup;
 * - `bigint`: the id as a bigint (`readBigUInt64LE`), then a Map<bigint, Session> lookup;
 * - `words`: the id's two 32-bit words, folded into the 45-bit id clock tick (unique among one worker's sessions),
 *   then a Map<number, Session> lookup and a check of the node and worker bits.
 *
 * Each round looks up every one of N live sessions in shuffled order, as a batch of backend packets would.
 *
 *   node --import tsx bench/micro/session-key.ts [--sessions N] [--rounds N]
 */
import { parseArgs } from 'node:util';
import { SessionIdGenerator } from '../../src/core/session-id.ts';

const { values } = parseArgs({ options: { sessions: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '400' } } });
const sessions = Number.parseInt(values.sessions, 10);
const rounds = Number.parseInt(values.rounds, 10);

interface Item {
  id: string;
}

const ids = new SessionIdGenerator(7, 3, undefined, () => Date.now());
const wire = Buffer.alloc(sessions * 8);
const items: Item[] = [];
for (let i = 0; i < sessions; i++) {
  const id = ids.next();
  items.push({ id });
  wire.writeBigUInt64LE(BigInt(id), i * 8);
}
// Shuffled read order: packets of many sessions interleaved.
const order = Int32Array.from({ length: sessions }, (_, i) => i);
for (let i = sessions - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1));
  [order[i], order[j]] = [order[j]!, order[i]!];
}

function readLo(buf: Buffer, pos: number): number {
  return buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24);
}

// decimal: the string cache the decoder used.
const CACHE_BITS = 14;
const cacheLo = new Int32Array(1 << CACHE_BITS);
const cacheHi = new Int32Array(1 << CACHE_BITS);
const cacheString = new Array<string>(1 << CACHE_BITS).fill('0');
function decimal(lo: number, hi: number): string {
  const slot = Math.imul(lo ^ hi, 0x9e37_79b1) >>> (32 - CACHE_BITS);
  if (cacheLo[slot] === lo && cacheHi[slot] === hi) return cacheString[slot]!;
  const id = ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString();
  cacheLo[slot] = lo;
  cacheHi[slot] = hi;
  cacheString[slot] = id;
  return id;
}
const byString = new Map<string, Item>();
for (const item of items) byString.set(item.id, item);

const byBigint = new Map<bigint, Item>();
for (const item of items) byBigint.set(BigInt(item.id), item);

function tick(lo: number, hi: number): number {
  return (hi >>> 1) * 16384 + (lo & 0x3fff);
}
const byTick = new Map<number, Item>();
const owner = Number(BigInt(items[0]!.id) & 0xffff_ffffn) >>> 14;
for (const item of items) {
  const v = BigInt(item.id);
  byTick.set(tick(Number(v & 0xffff_ffffn) | 0, Number(v >> 32n) | 0), item);
}

const variants: Record<string, () => number> = {
  decimal: () => {
    let found = 0;
    for (let i = 0; i < sessions; i++) {
      const pos = order[i]! * 8;
      if (byString.get(decimal(readLo(wire, pos), readLo(wire, pos + 4))) !== undefined) found++;
    }
    return found;
  },
  bigint: () => {
    let found = 0;
    for (let i = 0; i < sessions; i++) {
      if (byBigint.get(wire.readBigUInt64LE(order[i]! * 8)) !== undefined) found++;
    }
    return found;
  },
  words: () => {
    let found = 0;
    for (let i = 0; i < sessions; i++) {
      const pos = order[i]! * 8;
      const lo = readLo(wire, pos);
      const hi = readLo(wire, pos + 4);
      if (lo >>> 14 === owner && byTick.get(tick(lo, hi)) !== undefined) found++;
    }
    return found;
  },
};

function measure(run: () => number): number {
  const started = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) if (run() !== sessions) throw new Error('a session was not found');
  return Number(process.hrtime.bigint() - started) / (rounds * sessions);
}

// Warm every variant up, then alternate them so drift on a shared machine hits all three alike.
for (const run of Object.values(variants)) measure(run);
const totals: Record<string, number[]> = {};
for (let pass = 0; pass < 5; pass++) {
  for (const [name, run] of Object.entries(variants)) (totals[name] ??= []).push(measure(run));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(totals.decimal!);
console.log(`session id → Session, ${sessions} sessions, ${rounds} rounds × 5 passes (median ns per lookup)`);
for (const [name, xs] of Object.entries(totals)) {
  console.log(`  ${name.padEnd(8)} ${median(xs).toFixed(1).padStart(6)} ns   ${(median(xs) / base).toFixed(2)}× decimal`);
}
