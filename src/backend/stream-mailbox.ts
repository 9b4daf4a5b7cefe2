/**
 * A stream actor's mailbox: one FIFO queue per session (session-queue.ts), served round-robin, with a hard bound on
 * DATA for the whole mailbox (`capacity`) and a share per session (`perSession`). A session that floods the endpoint
 * fills only its share and is refused there, while the others keep being taken; and since `shift()` takes one entry
 * per session per round, a flood cannot fill a whole batch either. Order within a session is kept by its own queue.
 *
 * Lifecycle packets (CLOSE) are not counted against either bound: refusing them would leave a backend with a session
 * it never hears the end of. They are bounded anyway: the stream actor queues a CLOSE only for a session the backend
 * has seen or will see OPENed (opened on the current stream, or with DATA queued), one per session.
 *
 * Entries live in one growable slab of parallel arrays (packet, enqueue time, counted as DATA, next entry of the same
 * session) with a free list, so an enqueue allocates nothing beyond the packet. The queues with entries form a singly
 * linked ring (head taken from, tail appended to); a queue that empties leaves it for a small pool. Every enqueue and
 * dequeue is O(1). The mailbox keeps its own depth gauge and peak (the endpoint's counter slots).
 */
import { EndpointSlot } from '../core/counters.ts';
import { sessionKey } from '../core/session-id.ts';
import { SessionQueue } from './session-queue.ts';
import type { StreamPacket } from './stream-packet.ts';

/** Empty queues kept for reuse (a few dozen bytes each). */
const POOL_QUEUES = 1024;

export class StreamMailbox {
  readonly capacity: number;
  /** DATA entries one session may hold. */
  readonly perSession: number;
  readonly #queues = new Map<number, SessionQueue>();
  readonly #pool: SessionQueue[] = [];
  #ringHead: SessionQueue | null = null;
  #ringTail: SessionQueue | null = null;
  #packets: (StreamPacket | undefined)[];
  #times: Float64Array;
  #counted: Uint8Array;
  /** The next entry of the same session, or of the free list; -1 at the end. */
  #next: Int32Array;
  #free = -1;
  /** Slots never used yet: those from `#fresh` on. */
  #fresh = 0;
  #size = 0;
  #data = 0;
  readonly #gauges: Float64Array;

  /**
   * @param gauges the endpoint's counters (MAILBOX_DEPTH, MAILBOX_PEAK are kept); by default a private array
   * @param perSession DATA entries one session may hold, 1 to `capacity`; by default `capacity` (no share below it)
   */
  constructor(
    capacity: number,
    gauges: Float64Array = new Float64Array(EndpointSlot.MAILBOX_PEAK + 1),
    perSession = capacity,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`mailbox capacity must be a positive integer, got ${capacity}`);
    }
    if (!Number.isInteger(perSession) || perSession < 1 || perSession > capacity) {
      throw new RangeError(`mailbox share per session must be an integer from 1 to ${capacity}, got ${perSession}`);
    }
    this.capacity = capacity;
    this.perSession = perSession;
    this.#gauges = gauges;
    const slots = Math.min(capacity, 1024) + 16;
    this.#packets = new Array(slots);
    this.#times = new Float64Array(slots);
    this.#counted = new Uint8Array(slots);
    this.#next = new Int32Array(slots);
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

  /** DATA entries the session with this key holds. */
  queuedBy(key: number): number {
    return this.#queues.get(key)?.data ?? 0;
  }

  /**
   * Enqueues a DATA packet; false when the mailbox is at its bound, or (`isFull` still false) its session at its
   * share. The caller refuses the message.
   */
  offer(packet: StreamPacket, now: number): boolean {
    if (this.#data >= this.capacity) return false;
    const key = sessionKey(packet.idLo, packet.idHi);
    const queue = this.#queues.get(key);
    if (queue !== undefined && queue.data >= this.perSession) return false;
    const depth = ++this.#data;
    const gauges = this.#gauges;
    gauges[EndpointSlot.MAILBOX_DEPTH] = depth;
    if (depth > gauges[EndpointSlot.MAILBOX_PEAK]!) gauges[EndpointSlot.MAILBOX_PEAK] = depth;
    this.#push(queue ?? this.#open(key), packet, now, 1);
    return true;
  }

  /** Enqueues an OPEN or CLOSE packet; always accepted (see the file comment for why this stays bounded). */
  pushLifecycle(packet: StreamPacket, now: number): void {
    const key = sessionKey(packet.idLo, packet.idHi);
    this.#push(this.#queues.get(key) ?? this.#open(key), packet, now, 0);
  }

  /** Enqueue time of the entry `shift()` takes next, or Infinity when empty. */
  oldestTime(): number {
    return this.#ringHead === null ? Infinity : this.#times[this.#ringHead.head]!;
  }

  /** The entry `shift()` takes next. */
  peek(): StreamPacket | undefined {
    return this.#ringHead === null ? undefined : this.#packets[this.#ringHead.head];
  }

  /** Takes the next session's oldest entry; that session goes to the back of the ring. */
  shift(): StreamPacket | undefined {
    const queue = this.#ringHead;
    if (queue === null) return undefined;
    const packet = this.#take(queue);
    this.#ringHead = queue.next;
    queue.next = null;
    if (this.#ringHead === null) this.#ringTail = null;
    if (queue.size > 0) this.#append(queue);
    else this.#release(queue);
    return packet;
  }

  /**
   * Moves every entry enqueued before `before` (all for Infinity) into `out`: per session oldest first, sessions in
   * ring order. O(sessions queued); the actor calls it only while its stream is down.
   */
  expire(before: number, out: StreamPacket[]): void {
    let prev: SessionQueue | null = null;
    let queue = this.#ringHead;
    while (queue !== null) {
      const next: SessionQueue | null = queue.next;
      while (queue.size > 0 && this.#times[queue.head]! < before) out.push(this.#take(queue));
      if (queue.size > 0) {
        prev = queue;
      } else {
        if (prev === null) this.#ringHead = next;
        else prev.next = next;
        if (this.#ringTail === queue) this.#ringTail = prev;
        queue.next = null;
        this.#release(queue);
      }
      queue = next;
    }
  }

  /** Removes everything. */
  clear(): void {
    while (this.#size > 0) this.shift();
  }

  #push(queue: SessionQueue, packet: StreamPacket, now: number, counted: 0 | 1): void {
    const slot = this.#alloc();
    this.#packets[slot] = packet;
    this.#times[slot] = now;
    this.#counted[slot] = counted;
    this.#next[slot] = -1;
    if (queue.tail === -1) queue.head = slot;
    else this.#next[queue.tail] = slot;
    queue.tail = slot;
    queue.size++;
    queue.data += counted;
    this.#size++;
  }

  /** Removes the queue's oldest entry (it has one) and frees its slot. */
  #take(queue: SessionQueue): StreamPacket {
    const slot = queue.head;
    const packet = this.#packets[slot]!;
    this.#packets[slot] = undefined;
    queue.head = this.#next[slot]!;
    if (queue.head === -1) queue.tail = -1;
    queue.size--;
    this.#size--;
    if (this.#counted[slot] === 1) {
      queue.data--;
      this.#gauges[EndpointSlot.MAILBOX_DEPTH] = --this.#data;
    }
    this.#next[slot] = this.#free;
    this.#free = slot;
    return packet;
  }

  #alloc(): number {
    const free = this.#free;
    if (free !== -1) {
      this.#free = this.#next[free]!;
      return free;
    }
    if (this.#fresh === this.#packets.length) this.#grow();
    return this.#fresh++;
  }

  /** Doubles the slab; slots keep their indexes, so the queues' links stay valid. */
  #grow(): void {
    const slots = this.#packets.length * 2;
    const times = new Float64Array(slots);
    times.set(this.#times);
    const counted = new Uint8Array(slots);
    counted.set(this.#counted);
    const next = new Int32Array(slots);
    next.set(this.#next);
    this.#packets.length = slots;
    this.#times = times;
    this.#counted = counted;
    this.#next = next;
  }

  /** A queue for a session that holds nothing yet: from the pool, mapped, at the back of the ring. */
  #open(key: number): SessionQueue {
    const queue = this.#pool.pop() ?? new SessionQueue();
    queue.reset(key);
    this.#queues.set(key, queue);
    this.#append(queue);
    return queue;
  }

  #append(queue: SessionQueue): void {
    if (this.#ringTail === null) this.#ringHead = queue;
    else this.#ringTail.next = queue;
    this.#ringTail = queue;
  }

  #release(queue: SessionQueue): void {
    this.#queues.delete(queue.key);
    if (this.#pool.length < POOL_QUEUES) this.#pool.push(queue);
  }
}
