/**
 * What topic publishes sent each session, for the access log. uWS sends a publish to every subscriber itself, so
 * nothing runs per receiver: the tally keeps running totals per topic (one increment per publish) and each session
 * its marks at subscribe; at unsubscribe or close the difference is added to the session's frames and bytes out.
 * Only kept while the access log is on. A receiver whose send buffer was full is counted all the same.
 */
import type { Session } from './session.ts';

/** Frames and bytes published to a topic: its running total, or where it stood when a session subscribed. */
export interface TopicMark {
  frames: number;
  bytes: number;
}

interface TopicTotal extends TopicMark {
  /** Sessions subscribed: the total is dropped with the last. */
  holders: number;
}

export class TopicTally {
  readonly #totals = new Map<string, TopicTotal>();

  /** A frame of `bytes` was published to `topic` (on every live app). */
  published(topic: string, bytes: number): void {
    const total = this.#totals.get(topic);
    if (total === undefined) return;
    total.frames++;
    total.bytes += bytes;
  }

  joined(session: Session, topic: string): void {
    let total = this.#totals.get(topic);
    if (total === undefined) {
      total = { frames: 0, bytes: 0, holders: 0 };
      this.#totals.set(topic, total);
    }
    total.holders++;
    (session.topicMarks ??= new Map()).set(topic, { frames: total.frames, bytes: total.bytes });
  }

  left(session: Session, topic: string): void {
    const total = this.#totals.get(topic);
    const mark = session.topicMarks?.get(topic);
    if (total === undefined || mark === undefined) return;
    session.topicMarks!.delete(topic);
    session.framesOut += total.frames - mark.frames;
    session.bytesOut += total.bytes - mark.bytes;
    if (--total.holders === 0) this.#totals.delete(topic);
  }
}
