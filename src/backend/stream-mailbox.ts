/**
 * A stream actor's mailbox: one FIFO (order per session is kept by construction) with a hard bound on DATA.
 *
 * Lifecycle packets (CLOSE) are not counted against the bound: refusing them would leave a backend with a session
 * it never hears the end of. They are bounded anyway: the stream actor queues a CLOSE only for a session the backend
 * has seen or will see OPENed (opened on the current stream, or with DATA queued), one per session.
 *
 * Storage is a growable ring of parallel arrays (packet, enqueue time) so an enqueue allocates nothing beyond the
 * packet itself. The mailbox keeps its own depth gauge and peak (the endpoint's counter slots), so no caller has to
 * remember to.
 */
import { EndpointSlot } from '../core/counters.ts';
import type { StreamPacket } from './stream-packet.ts';

export class StreamMailbox {
  readonly capacity: number;
  #packets: (StreamPacket | undefined)[];
  #times: Float64Array;
  /** 1 where the entry counts against the bound (offered as DATA). */
  #counted: Uint8Array;
  #head = 0;
  #size = 0;
  #data = 0;
  readonly #gauges: Float64Array;

  /** @param gauges the endpoint's counters (MAILBOX_DEPTH, MAILBOX_PEAK are kept); by default a private array */
  constructor(capacity: number, gauges: Float64Array = new Float64Array(EndpointSlot.MAILBOX_PEAK + 1)) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`mailbox capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#gauges = gauges;
    const slots = Math.min(capacity, 1024) + 16;
    this.#packets = new Array(slots);
    this.#times = new Float64Array(slots);
    this.#counted = new Uint8Array(slots);
  }

  /** Entries queued, DATA and lifecycle. */
  get size(): number {
    return this.#size;
  }

  /** DATA entries queued: what the bound applies to. */
  get dataCount(): number {
    return this.#data;
  }

  get isFull(): boolean {
    return this.#data >= this.capacity;
  }

  /** Enqueues a DATA packet; false when the mailbox is at its bound (the caller refuses the message). */
  offer(packet: StreamPacket, now: number): boolean {
    if (this.#data >= this.capacity) return false;
    const depth = ++this.#data;
    const gauges = this.#gauges;
    gauges[EndpointSlot.MAILBOX_DEPTH] = depth;
    if (depth > gauges[EndpointSlot.MAILBOX_PEAK]!) gauges[EndpointSlot.MAILBOX_PEAK] = depth;
    this.#push(packet, now, 1);
    return true;
  }

  /** Enqueues an OPEN or CLOSE packet; always accepted (see the file comment for why this stays bounded). */
  pushLifecycle(packet: StreamPacket, now: number): void {
    this.#push(packet, now, 0);
  }

  /** Enqueue time of the oldest entry, or Infinity when empty. */
  oldestTime(): number {
    return this.#size === 0 ? Infinity : this.#times[this.#head]!;
  }

  peek(): StreamPacket | undefined {
    return this.#size === 0 ? undefined : this.#packets[this.#head];
  }

  shift(): StreamPacket | undefined {
    if (this.#size === 0) return undefined;
    const slots = this.#packets.length;
    const packet = this.#packets[this.#head]!;
    this.#packets[this.#head] = undefined;
    if (this.#counted[this.#head] === 1) this.#gauges[EndpointSlot.MAILBOX_DEPTH] = --this.#data;
    this.#head = (this.#head + 1) % slots;
    this.#size--;
    return packet;
  }

  /** Removes everything. */
  clear(): void {
    while (this.#size > 0) this.shift();
  }

  #push(packet: StreamPacket, now: number, counted: 0 | 1): void {
    if (this.#size === this.#packets.length) this.#grow();
    const slots = this.#packets.length;
    const tail = (this.#head + this.#size) % slots;
    this.#packets[tail] = packet;
    this.#times[tail] = now;
    this.#counted[tail] = counted;
    this.#size++;
  }

  #grow(): void {
    const old = this.#packets;
    const oldTimes = this.#times;
    const oldCounted = this.#counted;
    const slots = old.length * 2;
    const packets = new Array<StreamPacket | undefined>(slots);
    const times = new Float64Array(slots);
    const counted = new Uint8Array(slots);
    for (let i = 0; i < this.#size; i++) {
      const from = (this.#head + i) % old.length;
      packets[i] = old[from];
      times[i] = oldTimes[from]!;
      counted[i] = oldCounted[from]!;
    }
    this.#packets = packets;
    this.#times = times;
    this.#counted = counted;
    this.#head = 0;
  }
}
