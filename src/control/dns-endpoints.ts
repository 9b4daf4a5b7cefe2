/**
 * Endpoint sets from DNS: a rule endpoint `dns:///name:port` (a Kubernetes headless Service, say) stands for every
 * address `name` resolves to, each with `port`. The supervisor resolves the names of the table in force, keeps their
 * last answers, re-resolves them every `control.dnsRefreshMs`, and reports a changed answer, which it then applies
 * like a route change. A failed lookup (timeout, SERVFAIL) keeps the last answer; a name that does not exist or has
 * no address (ENOTFOUND, ENODATA) has no endpoints.
 */
import { promises as dns } from 'node:dns';
import type { Logger } from '../core/logger.ts';
import { DNS_ENDPOINT } from '../core/options-validate.ts';

/** A name's addresses (sorted); throws when the lookup failed, as opposed to answering "none". */
export type ResolveFn = (name: string) => Promise<string[]>;

const NO_ADDRESS = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME']);

function noAddress(err: unknown): boolean {
  return NO_ADDRESS.has((err as NodeJS.ErrnoException).code ?? '');
}

/** The resolver of `control.dnsServers`: A and AAAA records from those servers, or getaddrinfo when none is given. */
export function dnsResolver(servers: readonly string[]): ResolveFn {
  if (servers.length === 0) {
    return async (name) => {
      try {
        return [...new Set((await dns.lookup(name, { all: true })).map((a) => a.address))].sort();
      } catch (err) {
        if (noAddress(err)) return [];
        throw err;
      }
    };
  }
  const resolver = new dns.Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([...servers]);
  return async (name) => {
    const answers = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
    const failed = answers.filter((a): a is PromiseRejectedResult => a.status === 'rejected' && !noAddress(a.reason));
    if (failed.length === answers.length) throw failed[0]!.reason;
    return [...new Set(answers.flatMap((a) => (a.status === 'fulfilled' ? a.value : [])))].sort();
  };
}

/** `dns:///name:port` → { name, port }, else undefined. */
export function dnsTarget(endpoint: string): { name: string; port: number } | undefined {
  const match = DNS_ENDPOINT.exec(endpoint);
  return match === null ? undefined : { name: match[1]!, port: Number(match[2]) };
}

function withPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export class DnsEndpoints {
  readonly #resolve: ResolveFn;
  readonly #refreshMs: number;
  readonly #logger: Logger;
  readonly #onChange: () => void;
  readonly #answers = new Map<string, readonly string[]>();
  #timer: NodeJS.Timeout | undefined;
  /** Lookups that failed (the last answer was kept). */
  failures = 0;
  /** Re-resolutions whose answer differed from the last. */
  changes = 0;

  constructor(resolve: ResolveFn, refreshMs: number, logger: Logger, onChange: () => void) {
    this.#resolve = resolve;
    this.#refreshMs = refreshMs;
    this.#logger = logger;
    this.#onChange = onChange;
  }

  /** Resolves the names not known yet (a failure leaves them with no address) and forgets the ones no longer used. */
  async use(names: readonly string[]): Promise<void> {
    const wanted = new Set(names);
    for (const name of this.#answers.keys()) if (!wanted.has(name)) this.#answers.delete(name);
    await Promise.all([...wanted].filter((name) => !this.#answers.has(name)).map(async (name) => this.#answers.set(name, (await this.#lookup(name)) ?? [])));
    if (wanted.size > 0 && this.#timer === undefined) this.#timer = setInterval(() => void this.refresh(), this.#refreshMs).unref();
    if (wanted.size === 0) this.close();
  }

  /** The endpoints one rule endpoint stands for. */
  expand(endpoint: string): readonly string[] {
    const target = dnsTarget(endpoint);
    if (target === undefined) return [endpoint];
    return (this.#answers.get(target.name) ?? []).map((address) => withPort(address, target.port));
  }

  /** Re-resolves every name in use; reports once if any answer changed. */
  async refresh(): Promise<void> {
    let changed = false;
    await Promise.all(
      [...this.#answers].map(async ([name, before]) => {
        const after = await this.#lookup(name);
        if (after === undefined || !this.#answers.has(name) || after.join() === before.join()) return;
        this.#answers.set(name, after);
        this.#logger.info({ name, before, after }, 'dns endpoint set changed');
        changed = true;
      }),
    );
    if (changed) {
      this.changes++;
      this.#onChange();
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #lookup(name: string): Promise<string[] | undefined> {
    try {
      return await this.#resolve(name);
    } catch (err) {
      this.failures++;
      this.#logger.warn({ name, err: (err as Error).message }, 'dns lookup failed; keeping the last answer');
      return undefined;
    }
  }
}
