import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WORKER_SLOTS, WorkerSlot } from '../../../src/core/counters.ts';
import { PacketKind } from '../../../src/backend/proto.ts';
import { dataPacket, sessionPacket, type StreamPacket } from '../../../src/backend/stream-packet.ts';
import { BackendInbound, type InboundContext } from '../../../src/worker/backend-inbound.ts';
import { StageProbes } from '../../../src/worker/stage-probes.ts';
import type { Session } from '../../../src/worker/session.ts';

/** What the sockets saw, in order: "A:1" a frame with msgId 1 to A, "cork A ]" around corked frames, "end A". */
function rig() {
  const seen: string[] = [];
  const sessions = new Map<number, Session>();
  const session = (name: string, lo: number) => {
    let corked = false;
    const ws = {
      cork(cb: () => void) {
        assert.equal(corked, false, 'one cork at a time');
        corked = true;
        seen.push(`cork ${name}`);
        cb();
        seen.push(']');
        corked = false;
      },
      end() {
        seen.push(`end ${name}`);
      },
    };
    const s = { idLo: lo, idHi: 0, closed: false, ws, inboundGroup: 0, inboundHead: 0, inboundTail: 0 } as unknown as Session;
    sessions.set(lo, s);
    return s;
  };
  const names = new Map<Session, string>();
  for (const [name, lo] of [['A', 1], ['B', 2], ['C', 3]] as const) names.set(session(name, lo), name);
  const counters = new Float64Array(WORKER_SLOTS);
  const ctx = {
    counters,
    shard: { get: (lo: number) => sessions.get(lo) },
    sender: {
      send(s: Session, bytes: Uint8Array) {
        // The frame's msgId is its bytes 2–3 (little-endian).
        seen.push(`${names.get(s)}:${bytes[2]! | (bytes[3]! << 8)}`);
      },
    },
    stages: new StageProbes(0),
    tracing: { exporting: false },
  } as unknown as InboundContext;
  return { inbound: new BackendInbound(ctx), seen, counters };
}

const data = (lo: number, msgId: number): StreamPacket => dataPacket(lo, 0, msgId, 1 << 8, new Uint8Array([msgId]));

describe('BackendInbound', () => {
  it("sends an interleaved batch's DATA one cork per session, each session's packets in their order", () => {
    const { inbound, seen } = rig();
    inbound.handle([data(1, 1), data(2, 2), data(1, 3), data(3, 4), data(2, 5), data(1, 6)]);
    assert.deepEqual(seen, ['cork A', 'A:1', 'A:3', 'A:6', ']', 'cork B', 'B:2', 'B:5', ']', 'C:4']);
  });

  it('any other packet sends what was gathered before it first, so a CLOSE follows the DATA before it', () => {
    const { inbound, seen } = rig();
    const close = { ...sessionPacket(PacketKind.CLOSE, 1, 0), code: 4000, reason: 'bye' };
    inbound.handle([data(1, 1), data(2, 2), data(1, 3), close, data(2, 4), data(2, 5)]);
    assert.deepEqual(seen, ['cork A', 'A:1', 'A:3', ']', 'B:2', 'end A', 'cork B', 'B:4', 'B:5', ']']);
  });

  it('counts DATA for a session it does not hold, and sends the rest', () => {
    const { inbound, seen, counters } = rig();
    inbound.handle([data(9, 1), data(1, 2), data(9, 3)]);
    assert.deepEqual(seen, ['A:2']);
    assert.equal(counters[WorkerSlot.UNKNOWN_SESSION], 2);
    inbound.handle(Array.from({ length: 2000 }, (_, i) => data(1 + (i % 3), i % 200)));
    assert.equal(seen.filter((s) => s.startsWith('cork')).length, 3, 'a batch larger than the index buffer: still one cork per session');
  });
});
