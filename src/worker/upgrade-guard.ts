/**
 * What the transport asks of every upgrade before anything is kept for it, in order of cost: the handshake deadline's
 * bookkeeping, the request's form (request-limits.ts), the client address (client-address.ts, `listen.trustProxy`),
 * then the process-wide connection limits and upgrade rates (upgrade-admission.ts). One object per worker, so the
 * transport's handler stays a short list of steps.
 */
import type uWS from 'uWebSockets.js';
import type { ResolvedConfig } from '../core/options.ts';
import { addressFromBytes, TrustedProxies } from '../core/ip-address.ts';
import type { UpgradeRefusal } from '../core/counters.ts';
import { clientAddress } from './client-address.ts';
import { HandshakeDeadlines } from './handshake-deadlines.ts';
import { RequestLimits } from './request-limits.ts';
import { UpgradeAdmission, writeDenial, type UpgradeDenial } from './upgrade-admission.ts';

export type { UpgradeDenial } from './upgrade-admission.ts';

export class UpgradeGuard {
  readonly #requests: RequestLimits;
  readonly #trusted: TrustedProxies;
  readonly #admission: UpgradeAdmission;
  readonly #deadlines: HandshakeDeadlines | undefined;
  /** The TCP peer of the connection being screened, normalized, and whether it is a trusted proxy (set by `requestRefusal`, read by `address`). */
  #peer = '';
  #fromProxy = false;

  constructor(config: Pick<ResolvedConfig, 'limits' | 'listen'>, admission: SharedArrayBuffer, worker: number, counters: Float64Array) {
    this.#requests = new RequestLimits(config.limits);
    this.#trusted = new TrustedProxies(config.listen.trustProxy);
    this.#admission = new UpgradeAdmission(config.limits, admission, worker, counters);
    if (config.limits.handshakeTimeoutMs > 0) this.#deadlines = new HandshakeDeadlines(config.limits.handshakeTimeoutMs, counters);
  }

  /** Registers the per-connection hook; call before the app listens. */
  attach(app: uWS.TemplatedApp): void {
    this.#deadlines?.attach(app);
  }

  stop(): void {
    this.#deadlines?.stop();
  }

  /** A request arrived on `res`'s connection; the first thing every request handler does. */
  arrived(res: uWS.HttpResponse): void {
    this.#deadlines?.requestArrived(res);
  }

  /** Why the request's own form is refused (target length, head size, field count), or undefined when it passes. */
  requestRefusal(res: uWS.HttpResponse, req: uWS.HttpRequest): UpgradeDenial | undefined {
    // From the raw bytes: uWS's text form spells an IPv4 client of a dual-stack socket as expanded IPv6, which would
    // put every IPv4 client under one /64 key.
    this.#peer = addressFromBytes(res.getRemoteAddress());
    this.#fromProxy = this.#trusted.has(this.#peer);
    return this.#requests.check(req, this.#fromProxy);
  }

  /** The client's address; call after `requestRefusal` for the same request. */
  address(res: uWS.HttpResponse): string {
    if (!this.#fromProxy) return this.#peer;
    const proxied = res.getProxiedRemoteAddress();
    return clientAddress(this.#trusted, this.#peer, proxied.byteLength === 0 ? '' : addressFromBytes(proxied), this.#requests.forwardedFor);
  }

  /**
   * Why one more connection from `address` is refused by the process-wide limits (counts, then rates), or undefined
   * when it passes, having taken its tokens from the rate buckets.
   */
  admissionRefusal(address: string): UpgradeDenial | undefined {
    return this.#admission.connections(address) ?? this.#admission.rates(address);
  }

  /** The connection limits alone, for an upgrade completed after its handler returned (the counts may have moved). */
  connectionRefusal(address: string): UpgradeDenial | undefined {
    return this.#admission.connections(address);
  }

  /** Answers a denial and counts it by reason. */
  refuse(res: uWS.HttpResponse, denial: UpgradeDenial): void {
    this.#admission.count(denial.refusal);
    writeDenial(res, denial);
  }

  /** Counts a refusal answered elsewhere (the subprotocol's 400). */
  count(refusal: UpgradeRefusal): void {
    this.#admission.count(refusal);
  }

  opened(address: string): void {
    this.#admission.opened(address);
  }

  closed(address: string): void {
    this.#admission.closed(address);
  }
}
