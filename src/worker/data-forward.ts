/**
 * The last leg of a client's DATA message inside its worker: its route, the route's rate, the endpoint the session
 * is bound to, the packet into that endpoint's stream actor, and the refusal when any of them says no. WorkerActor
 * checked the frame before; what happens after the mailbox is the stream actor's.
 */
import type { CoarseClock } from '../core/coarse-clock.ts';
import { Refuse } from '../core/counters.ts';
import { Code } from '../protocol/codes.ts';
import { HEADER_BYTES } from '../protocol/frame.ts';
import type { PacketProbe } from '../backend/packet-probe.ts';
import { SendResult } from '../backend/stream-actor.ts';
import { dataPacket } from '../backend/stream-packet.ts';
import type { WorkerTracing } from '../tracing/worker-tracing.ts';
import type { BackendRouter } from './backend-router.ts';
import type { ClientSender } from './client-sender.ts';
import { RateVerdict } from './message-rate.ts';
import type { Session } from './session.ts';
import type { SessionRates } from './session-rates.ts';

const MAILBOX_FULL = 'backend mailbox full';
const SHARE_FULL = 'session share of the backend mailbox full';
const UNAVAILABLE = 'backend unavailable';

export class DataForward {
  readonly #backends: BackendRouter;
  readonly #sender: ClientSender;
  readonly #tracing: WorkerTracing;
  readonly #rates: SessionRates | undefined;
  readonly #clock: CoarseClock;

  constructor(backends: BackendRouter, sender: ClientSender, tracing: WorkerTracing, rates: SessionRates | undefined, clock: CoarseClock) {
    this.#backends = backends;
    this.#sender = sender;
    this.#tracing = tracing;
    this.#rates = rates;
    this.#clock = clock;
  }

  /** `bytes` is the whole frame, header checked; its payload is copied into the packet. */
  send(session: Session, bytes: Uint8Array, msgId: number, serverId: number, probe: PacketProbe | null): void {
    const sender = this.#sender;
    const route = this.#backends.match(serverId);
    if (route === undefined) return sender.refuse(session, Refuse.NO_ROUTE, Code.NO_ROUTE, msgId, serverId, 'no route for this serverId');
    const rates = this.#rates;
    if (rates !== undefined) {
      const verdict = rates.checkRoute(session, route, bytes.length, this.#clock.now);
      if (verdict !== RateVerdict.PASS) return rates.refuse(session, bytes, verdict);
    }
    const actor = this.#backends.actorFor(session, route, serverId);
    if (actor === undefined) {
      if (route.rule.realm) return sender.refuse(session, Refuse.NO_ROUTE, Code.NO_ROUTE, msgId, serverId, 'no realm for this worldId');
      return sender.refuse(session, Refuse.BACKEND_UNAVAILABLE, Code.BACKEND_UNAVAILABLE, msgId, serverId, 'no endpoint for this route now');
    }
    const packet = dataPacket(session.idLo, session.idHi, msgId, serverId, bytes.slice(HEADER_BYTES), probe);
    this.#tracing.forward(session, packet);
    const result = actor.send(packet);
    if (result === SendResult.QUEUED) return;
    const why = result === SendResult.FULL ? MAILBOX_FULL : result === SendResult.SESSION_FULL ? SHARE_FULL : UNAVAILABLE;
    if (packet.probe !== null) this.#tracing.refused(packet, why);
    if (result === SendResult.FULL) sender.refuse(session, Refuse.BACKEND_OVERLOADED, Code.BACKEND_OVERLOADED, msgId, serverId, why);
    else if (result === SendResult.SESSION_FULL) sender.refuse(session, Refuse.SESSION_OVERLOADED, Code.BACKEND_OVERLOADED, msgId, serverId, why);
    else sender.refuse(session, Refuse.BACKEND_UNAVAILABLE, Code.BACKEND_UNAVAILABLE, msgId, serverId, why);
  }
}
