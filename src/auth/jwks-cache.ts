/**
 * The keys of one JWKS URL, as one verification thread holds them: fetched at start and every `refreshMs`, fetched
 * again when a token names a `kid` nobody knows (at most once per `minRefreshMs`, so a flood of made-up kids costs
 * one request per period), and kept through a failed fetch. While it holds no key at all (the first fetch failed), it
 * fetches again on a short backoff (JWKS_RETRY_INITIAL_MS, doubling) instead of waiting for the next period. A key
 * that disappears from the document is retired, not dropped: it keeps verifying for `graceMs`, so tokens signed just
 * before a rotation stay valid while they live; at most MAX_RETIRED_KEYS are kept, the longest retired dropped first.
 *
 * It runs only on verification threads (workers/auth.task.ts): fetching and parsing a document never touches a worker
 * actor's loop. Each thread has its own cache, so a pool of N threads makes N requests per period.
 */
import type { KeyObject } from 'node:crypto';
import { backoffCeilingMs, type BackoffPolicy } from '../core/backoff.ts';
import { algorithmsFor, importJwk, jwkIsForSignatures, keyFits, narrowByJwkAlg, type JwtAlgorithm, type VerificationKey } from './key-material.ts';

export interface JwksOptions {
  readonly url: string;
  /** The allow-list of this source; each key verifies the ones its type fits (and its own `alg`, if named). */
  readonly algorithms: readonly JwtAlgorithm[];
  readonly refreshMs: number;
  readonly minRefreshMs: number;
  readonly graceMs: number;
  readonly timeoutMs: number;
}

/** A document past this is refused (a JWKS is a few KiB). */
export const MAX_JWKS_BYTES = 1024 * 1024;
/** Keys one document may hold. */
export const MAX_JWKS_KEYS = 100;
/** Retired keys kept through their grace period: a provider serving a changing set cannot grow the cache past this. */
export const MAX_RETIRED_KEYS = MAX_JWKS_KEYS;
/**
 * While no key is held, the next fetch waits this long after a failed one, doubling up to `minRefreshMs` (and never
 * longer than `refreshMs`). No jitter: the periodic refresh has none either.
 */
export const JWKS_RETRY_INITIAL_MS = 1000;

/** What a fetch reports, for logs and counters. */
export type JwksEvent = { type: 'refreshed'; url: string; keys: number; skipped: number } | { type: 'failed'; url: string; error: string };

interface Entry extends VerificationKey {
  readonly id: string;
  /** 0 while the document lists the key; otherwise when it stopped listing it. */
  retiredAt: number;
}

export class JwksError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JwksError';
  }
}

function identity(key: KeyObject, kid: string | undefined): string {
  return `${kid ?? ''}\u0000${JSON.stringify(key.export({ format: 'jwk' }))}`;
}

async function readLimited(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > limit) throw new JwksError(`document of ${declared} bytes is over ${limit}`);
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new JwksError(`document is over ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class JwksCache {
  readonly #options: JwksOptions;
  readonly #fetch: typeof fetch;
  readonly #onEvent: (event: JwksEvent) => void;
  readonly #entries = new Map<string, Entry>();
  #inFlight: Promise<void> | undefined;
  #lastFetchAt = Number.NEGATIVE_INFINITY;
  #first: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #retryPolicy: BackoffPolicy;
  #retry: NodeJS.Timeout | undefined;
  /** Failed fetches in a row while no key is held: the retry backoff's exponent. */
  #retries = 0;
  #closed = false;

  constructor(options: JwksOptions, onEvent: (event: JwksEvent) => void = () => {}, fetchImpl: typeof fetch = fetch) {
    this.#options = options;
    this.#onEvent = onEvent;
    this.#fetch = fetchImpl;
    const maxMs = Math.min(options.refreshMs, Math.max(JWKS_RETRY_INITIAL_MS, options.minRefreshMs));
    this.#retryPolicy = { initialMs: Math.min(JWKS_RETRY_INITIAL_MS, maxMs), maxMs, multiplier: 2 };
  }

  /** Starts the first fetch and the periodic refresh (an unref'd timer: it never keeps a thread alive). */
  start(): void {
    if (this.#first !== undefined) return;
    this.#first = this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#options.refreshMs).unref();
  }

  /** Settles once the first fetch is over (whatever its outcome), so tokens arriving at start wait for it. */
  ready(): Promise<void> {
    return this.#first ?? Promise.resolve();
  }

  /** Keys usable now for a token's `kid` and `alg` (keyFits), current ones before retired; retired keys past grace are gone. */
  candidates(kid: string | undefined, alg: JwtAlgorithm, now = Date.now()): VerificationKey[] {
    const out: VerificationKey[] = [];
    let retired: VerificationKey[] | undefined;
    for (const [id, entry] of this.#entries) {
      if (entry.retiredAt !== 0 && now - entry.retiredAt > this.#options.graceMs) {
        this.#entries.delete(id);
        continue;
      }
      if (!keyFits(entry, kid, alg)) continue;
      if (entry.retiredAt === 0) out.push(entry);
      else (retired ??= []).push(entry);
    }
    return retired === undefined ? out : out.concat(retired);
  }

  /** The number of keys held (current and retired). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * A token named a kid that no key has: fetch again unless a fetch started within `minRefreshMs`. Resolves when
   * the fetch (this one, or the one under way) is over; false when rate-limited.
   */
  async refreshForUnknownKid(now = Date.now()): Promise<boolean> {
    if (this.#inFlight !== undefined) {
      await this.#inFlight;
      return true;
    }
    if (now - this.#lastFetchAt < this.#options.minRefreshMs) return false;
    await this.refresh();
    return true;
  }

  /** Fetches the document now (joining a fetch under way). Never rejects: a failure keeps the keys held. */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#inFlight ??= this.#fetchOnce().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
  }

  async #fetchOnce(): Promise<void> {
    const { url, timeoutMs } = this.#options;
    this.#lastFetchAt = Date.now();
    try {
      const response = await this.#fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new JwksError(`HTTP ${response.status}`);
      }
      const text = await readLimited(response, MAX_JWKS_BYTES);
      const { keys, skipped } = this.#parse(text);
      this.#replace(keys, Date.now());
      this.#retries = 0;
      clearTimeout(this.#retry);
      this.#retry = undefined;
      this.#onEvent({ type: 'refreshed', url, keys: keys.length, skipped });
    } catch (err) {
      const error = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message;
      this.#onEvent({ type: 'failed', url, error });
      if (this.#entries.size === 0) this.#scheduleRetry();
    }
  }

  /** No key held after a failed fetch: tokens get 503 until one arrives, so fetch again soon rather than next period. */
  #scheduleRetry(): void {
    if (this.#closed || this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.refresh();
    }, backoffCeilingMs(this.#retries++, this.#retryPolicy)).unref();
  }

  /** The usable keys of a document. Keys that are not for signatures, secret, or fit no allowed algorithm are skipped. */
  #parse(text: string): { keys: Entry[]; skipped: number } {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new JwksError('document is not JSON');
    }
    const list = (doc as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(list)) throw new JwksError('document has no "keys" array');
    if (list.length > MAX_JWKS_KEYS) throw new JwksError(`document has ${list.length} keys, more than ${MAX_JWKS_KEYS}`);
    const keys: Entry[] = [];
    let skipped = 0;
    for (const jwk of list) {
      try {
        if (!jwkIsForSignatures(jwk as Record<string, unknown>)) throw new JwksError('not a signature key');
        const { key, kid, alg } = importJwk(jwk, false);
        // Only what both the key's type and the configured allow-list permit (never HS*: secrets were refused above).
        const possible = algorithmsFor(key);
        const algorithms = narrowByJwkAlg(this.#options.algorithms, alg).filter((a) => possible.includes(a));
        if (algorithms.length === 0) throw new JwksError('fits no allowed algorithm');
        keys.push({ key, kid, algorithms, id: identity(key, kid), retiredAt: 0 });
      } catch {
        skipped++;
      }
    }
    // An empty set is far more likely a broken deploy than a revocation of every key: keep what is held.
    if (keys.length === 0) throw new JwksError(`document has no usable key (${skipped} skipped)`);
    return { keys, skipped };
  }

  #replace(keys: Entry[], now: number): void {
    const listed = new Set(keys.map((k) => k.id));
    const retired: Entry[] = [];
    for (const [id, entry] of this.#entries) {
      if (!listed.has(id) && entry.retiredAt === 0) entry.retiredAt = now;
      if (!listed.has(id)) retired.push(entry);
    }
    for (const key of keys) this.#entries.set(key.id, key);
    if (retired.length <= MAX_RETIRED_KEYS) return;
    retired.sort((a, b) => a.retiredAt - b.retiredAt);
    for (const entry of retired.slice(0, retired.length - MAX_RETIRED_KEYS)) this.#entries.delete(entry.id);
  }
}
