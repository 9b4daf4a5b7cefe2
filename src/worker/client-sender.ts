/**
 * Everything a worker sends to its clients goes through here, so the accounting is in one place: frames and bytes
 * out, the peak of a send buffer, and a frame that does not fit the send buffer, which is dropped (counted) and starts
 * the session's slow-consumer grace period. A refusal is an ERROR frame plus its counter.
 */
import { WorkerSlot } from '../core/counters.ts';
import { encodeError } from '../protocol/control.ts';
import type { Session } from './session.ts';
import type { SessionSweeper } from './session-sweeper.ts';

export class ClientSender {
  readonly #counters: Float64Array;
  readonly #sweeper: SessionSweeper;

  constructor(counters: Float64Array, sweeper: SessionSweeper) {
    this.#counters = counters;
    this.#sweeper = sweeper;
  }

  send(session: Session, bytes: Uint8Array | ArrayBuffer): void {
    if (session.closed) return;
    const counters = this.#counters;
    const result = session.ws.send(bytes, true, false);
    if (result === 2) {
      counters[WorkerSlot.CLIENT_SEND_DROPPED]++;
      this.#sweeper.overflowed(session);
      return;
    }
    counters[WorkerSlot.FRAMES_OUT]++;
    counters[WorkerSlot.BYTES_OUT] += bytes.byteLength;
    session.framesOut++;
    session.bytesOut += bytes.byteLength;
    if (result === 0) {
      // Queued behind backpressure: track the peak so the bound is observable.
      const buffered = session.ws.getBufferedAmount();
      if (buffered > counters[WorkerSlot.PEAK_CLIENT_BUFFER]!) counters[WorkerSlot.PEAK_CLIENT_BUFFER] = buffered;
    }
  }

  /** Refuses one client message: counted in `slot`, answered with an ERROR frame naming it. */
  refuse(session: Session, slot: number, code: number, msgId: number, serverId: number, reason: string): void {
    this.#counters[slot]++;
    this.send(session, encodeError(code, msgId, serverId, reason));
  }
}
