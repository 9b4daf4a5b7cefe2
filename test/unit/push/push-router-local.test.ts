import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { resolveConfig } from '../../../src/core/options.ts';
import { SessionIdGenerator } from '../../../src/core/session-id.ts';
import { PushRouter, type PushWorkers } from '../../../src/push/push-router.ts';
import type { RedisPublisher } from '../../../src/control/redis-publisher.ts';

const SENDER = 0x100;
const payload = new Uint8Array([1]);

/** Workers that answer at once: every item reached one session. */
function workers(count: number, router: () => PushRouter): PushWorkers {
  return {
    count,
    post(worker, id, items) {
      queueMicrotask(() => router().onResult(worker, id, new Uint32Array(64).fill(1)));
      return items.byteLength > 0;
    },
  };
}

describe('PushRouter, local calls (x-actorgate-fanout: local)', () => {
  it('publishes nothing on Redis for a local call; the same pushes otherwise are published', async () => {
    const published: string[] = [];
    const publisher = { publish: async (channel: string) => (published.push(channel), 1) } as unknown as RedisPublisher;
    let router!: PushRouter;
    router = new PushRouter(resolveConfig({ nodeId: 3, workers: 2, redis: { url: 'redis://127.0.0.1:1' } }), workers(2, () => router), publisher, pino({ level: 'silent' }));
    const other = new SessionIdGenerator(4, 0).next();
    const pushes = [
      { topic: 'room.1', msgId: 1, serverId: SENDER, payload },
      { userId: 'u1', msgId: 1, serverId: SENDER, payload },
      { sessionId: other, msgId: 1, serverId: SENDER, payload },
    ];
    const local = await router.route(pushes, true);
    assert.deepEqual(published, []);
    assert.equal(local.accepted, 3);
    assert.equal(local.dropped, 1, "another instance's session reaches nobody from a local call");
    await router.route(pushes);
    assert.deepEqual(published.sort(), ['actorgate:session:4:0', 'actorgate:topic:room.1', 'actorgate:user:u1']);
  });
});
