/**
 * One session's place in a stream actor's mailbox (stream-mailbox.ts): its entries are a linked list through the
 * mailbox's shared slab of slots, so a queue holds no arrays of its own and is cheap to pool. `next` links the
 * queues that hold entries into the mailbox's round-robin ring.
 */
export class SessionQueue {
  key = 0;
  /** Slab slots of the oldest and newest entry; -1 when empty. */
  head = -1;
  tail = -1;
  /** Entries held, DATA and lifecycle. */
  size = 0;
  /** DATA entries held: what the session's share applies to. */
  data = 0;
  /** The next queue in the ring of queues with entries; null at its tail (or out of the ring). */
  next: SessionQueue | null = null;

  /** Ready for another session: empty, out of the ring. */
  reset(key: number): void {
    this.key = key;
    this.head = -1;
    this.tail = -1;
    this.size = 0;
    this.data = 0;
    this.next = null;
  }
}
