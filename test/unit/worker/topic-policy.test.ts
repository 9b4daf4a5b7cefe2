import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopicPolicy } from '../../../src/worker/topic-policy.ts';

test('globs: * matches any run of characters, anchored at both ends', () => {
  const policy = new TopicPolicy(['room.*', 'game:*:*:state', 'exact', '*.public']);
  for (const topic of ['room.', 'room.1', 'room.a.b', 'game:1:2:state', 'game:::state', 'exact', 'x.public', '.public']) {
    assert.equal(policy.allows(topic), true, topic);
  }
  for (const topic of ['room', 'xroom.1', 'game:1:state:x', 'game:1:2:states', 'exact2', 'public', 'game:1state']) {
    assert.equal(policy.allows(topic), false, topic);
  }
});

test('no pattern, no topic; a lone * allows everything', () => {
  assert.equal(new TopicPolicy([]).allows('a'), false);
  assert.equal(new TopicPolicy(['*']).allows('anything at all'), true);
});

test('pathological topics against many-star globs are decided correctly (linear matching, no backtracking)', () => {
  const policy = new TopicPolicy(['game:*:*:*:*:state']);
  assert.equal(policy.allows(`game:${':'.repeat(190)}`), false);
  assert.equal(policy.allows(`game:${':'.repeat(190)}:state`), true);
});
