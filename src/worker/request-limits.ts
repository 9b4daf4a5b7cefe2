/**
 * The gateway's own bounds on an upgrade request (docs/PROTOCOL.md §1): the request target (`limits.maxUrlBytes`,
 * 414), the whole head (`limits.maxHeaderBytes`, 431) and the number of header fields (`limits.maxHeaderFields`,
 * 431). Checked first in the upgrade handler, before anything is copied out of the request or kept.
 *
 * uWS parses the head before the gateway sees it, and this build answers some requests itself whatever these limits
 * say: a request line not complete in the first read gets 505, a head over 4096 bytes arriving in more than one read
 * gets 431, and a head with more than 98 fields is never delivered (the handshake timeout closes it). Within what
 * uWS delivers, the answer is the same however the bytes were segmented; the defaults are set so that it is 4xx.
 *
 * Sizes are counted as uWS hands the request over: the request line as `METHOD SP target SP HTTP/1.1 CRLF`, each
 * field as name, `: `, value and CRLF (uWS trims spaces around values), and the blank line.
 */
import type uWS from 'uWebSockets.js';
import type { LimitsOptions } from '../core/options.ts';
import type { UpgradeDenial } from './upgrade-admission.ts';

const REQUEST_LINE_FRAMING = ' HTTP/1.1\r\n'.length + 1;
const FIELD_FRAMING = ': \r\n'.length;
const END_OF_HEAD = 2;

/** Checks one request's head; collects `X-Forwarded-For` when asked (a trusted proxy's connection). */
export class RequestLimits {
  readonly #limits: Readonly<LimitsOptions>;
  /** The request's X-Forwarded-For fields, joined with commas ('' when none, or not collected). */
  forwardedFor = '';
  #fields = 0;
  #fieldBytes = 0;
  #collect = false;
  readonly #visit = (key: string, value: string) => {
    this.#fields++;
    this.#fieldBytes += key.length + value.length + FIELD_FRAMING;
    if (this.#collect && key === 'x-forwarded-for') this.forwardedFor = this.forwardedFor === '' ? value : `${this.forwardedFor},${value}`;
  };

  constructor(limits: Readonly<LimitsOptions>) {
    this.#limits = limits;
  }

  /** undefined when the request is within the limits. `req` is valid only in the handler that calls this. */
  check(req: uWS.HttpRequest, collectForwarded: boolean): UpgradeDenial | undefined {
    const limits = this.#limits;
    const query = req.getQuery() ?? '';
    const target = req.getUrl().length + (query === '' ? 0 : 1 + query.length);
    if (target > limits.maxUrlBytes) return { refusal: 'url_too_long', reason: `request target over ${limits.maxUrlBytes} bytes` };
    this.#fields = 0;
    this.#fieldBytes = 0;
    this.#collect = collectForwarded;
    this.forwardedFor = '';
    req.forEach(this.#visit);
    if (this.#fields > limits.maxHeaderFields) return { refusal: 'headers_too_large', reason: `more than ${limits.maxHeaderFields} header fields` };
    const head = req.getCaseSensitiveMethod().length + target + REQUEST_LINE_FRAMING + this.#fieldBytes + END_OF_HEAD;
    if (head > limits.maxHeaderBytes) return { refusal: 'headers_too_large', reason: `request head over ${limits.maxHeaderBytes} bytes` };
    return undefined;
  }
}
