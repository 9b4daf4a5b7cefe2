/**
 * Every message rate a worker applies, in one place (docs/PROTOCOL.md §7): the session's own buckets
 * (`limits.messagesPerSecond`, `limits.bytesPerSecond`), its user's buckets shared by all the user's sessions on the
 * process (`limits.userMessagesPerSecond`, `limits.userBytesPerSecond`; core/user-rate.ts), and its buckets per route
 * rule with a `rateLimit`. A refusal by any of them is the same ERROR RATE_LIMITED (one reused frame per kind),
 * counted by kind, and feeds the session's one refusal streak, which ends in RATE_LIMIT_EXCEEDED (message-rate.ts).
 *
 * The session's and user's buckets are taken before anything else is done with a message; a route's once the header
 * has been checked and the rule matched. Nothing is allocated per message; the user buckets read the clock (shared
 * buckets need one time for every worker), the others the worker's coarse clock.
 */
import type { ResolvedConfig, RouteRateLimit } from '../core/options.ts';
import { LimitSlot, Refuse } from '../core/counters.ts';
import { UserRates, type UserCells } from '../core/user-rate.ts';
import { Code } from '../protocol/codes.ts';
import { ReusableError } from '../protocol/control.ts';
import { readMsgId, readServerId } from '../protocol/frame.ts';
import type { Route } from '../routing/route-table.ts';
import type { ClientSender } from './client-sender.ts';
import { MessageRate, ratePolicy, RateVerdict, type BucketSpec, type RatePolicy } from './message-rate.ts';
import type { Session } from './session.ts';

/** Which limit refused the last message: its counter slot and its ERROR frame. */
interface Refusal {
  readonly slot: number;
  readonly frame: ReusableError;
}

export class SessionRates {
  readonly #policy: RatePolicy;
  readonly #user: UserRates | undefined;
  /** By route index: the rule's rates, undefined for a rule without `rateLimit`. */
  readonly #routes: (BucketSpec | undefined)[];
  readonly #counters: Float64Array;
  readonly #sender: ClientSender;
  readonly #own: Refusal = { slot: Refuse.RATE_LIMITED, frame: new ReusableError(Code.RATE_LIMITED, 'over the session message rate') };
  readonly #byUser: Refusal = { slot: Refuse.USER_RATE_LIMITED, frame: new ReusableError(Code.RATE_LIMITED, 'over the user message rate') };
  readonly #byRoute: Refusal = { slot: Refuse.ROUTE_RATE_LIMITED, frame: new ReusableError(Code.RATE_LIMITED, 'over the route message rate') };
  #last: Refusal = this.#own;

  /** The worker's rates, or undefined when none is configured (sessions then carry no rate state at all). */
  static create(config: ResolvedConfig, admission: SharedArrayBuffer, counters: Float64Array, sender: ClientSender): SessionRates | undefined {
    const limits = config.limits;
    const user = limits.userMessagesPerSecond > 0 || limits.userBytesPerSecond > 0;
    const routes = config.routes.map((rule) => (rule.rateLimit ?? undefined) as Required<RouteRateLimit> | undefined);
    if (ratePolicy(limits) === undefined && !user && routes.every((spec) => spec === undefined)) return undefined;
    const users = user
      ? new UserRates(admission, {
          messagesPerSecond: limits.userMessagesPerSecond,
          messageBurst: limits.userMessageBurst,
          bytesPerSecond: limits.userBytesPerSecond,
          byteBurst: limits.userByteBurst,
        })
      : undefined;
    return new SessionRates(ratePolicy(limits, true)!, users, routes, counters, sender);
  }

  private constructor(policy: RatePolicy, user: UserRates | undefined, routes: (BucketSpec | undefined)[], counters: Float64Array, sender: ClientSender) {
    this.#policy = policy;
    this.#user = user;
    this.#routes = routes;
    this.#counters = counters;
    this.#sender = sender;
  }

  /** A new session's rate state. */
  open(session: Session, now: number): void {
    session.rate = new MessageRate(this.#policy, now);
  }

  /** The session's and its user's buckets, for a message of `bytes` at coarse time `now`. */
  check(session: Session, bytes: number, now: number): RateVerdict {
    const rate = session.rate!;
    const verdict = rate.check(bytes, now, this.#policy);
    if (verdict !== RateVerdict.PASS) {
      this.#last = this.#own;
      return verdict;
    }
    const users = this.#user;
    const userId = session.userId;
    // Sessions without a user (anonymous, not yet bound) are not user-limited.
    if (users === undefined || userId === undefined) return RateVerdict.PASS;
    let cells = rate.user;
    // The user can change (a backend's BIND_USER): its cells are found again once per change.
    if (cells === undefined || cells.userId !== userId) {
      cells ??= { userId, cell0: 0, cell1: 0, retryAtMs: 0 } satisfies UserCells;
      users.locate(userId, cells);
      rate.user = cells;
    }
    if (users.take(cells, bytes, performance.timeOrigin + performance.now())) return RateVerdict.PASS;
    this.#last = this.#byUser;
    return rate.refused(now, this.#policy);
  }

  /** The session's buckets for the matched route, if its rule has a `rateLimit`. */
  checkRoute(session: Session, route: Route, bytes: number, now: number): RateVerdict {
    // The rule's own rates, not the start's list: a route change (routes from Redis) brings its own rules.
    const spec = (route.rule.rateLimit ?? undefined) as BucketSpec | undefined;
    if (spec === undefined) return RateVerdict.PASS;
    const verdict = session.rate!.checkRoute(route.index, spec, bytes, now, this.#policy);
    if (verdict !== RateVerdict.PASS) this.#last = this.#byRoute;
    return verdict;
  }

  /** Answers the verdict `check` or `checkRoute` just gave: ERROR RATE_LIMITED naming the message, or the close. */
  refuse(session: Session, header: Uint8Array | undefined, verdict: RateVerdict): void {
    if (verdict === RateVerdict.DROP) return;
    if (verdict === RateVerdict.CLOSE) {
      this.#counters[LimitSlot.RATE_LIMIT_CLOSES]++;
      session.ws.end(Code.RATE_LIMIT_EXCEEDED, 'message rate exceeded for too long');
      return;
    }
    const refusal = this.#last;
    this.#counters[refusal.slot]++;
    this.#sender.send(session, refusal.frame.refusing(header === undefined ? 0 : readMsgId(header), header === undefined ? 0 : readServerId(header)));
  }
}
