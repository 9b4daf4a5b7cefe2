import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker, type CircuitState } from '../../../src/backend/circuit-breaker.ts';

function breaker(threshold = 3, openMs = 1000) {
  const changes: CircuitState[] = [];
  const circuit = new CircuitBreaker({ threshold, openMs }, (state) => changes.push(state));
  return { circuit, changes };
}

test('opens after threshold consecutive failures; a success in between resets the count', () => {
  const { circuit, changes } = breaker(3);
  circuit.recordFailure(0);
  circuit.recordFailure(1);
  circuit.recordSuccess();
  circuit.recordFailure(2);
  circuit.recordFailure(3);
  assert.equal(circuit.state, 'closed');
  circuit.recordFailure(4);
  assert.equal(circuit.state, 'open');
  assert.equal(circuit.allows(5), false);
  assert.deepEqual(changes, ['open']);
});

test('open → half-open after openMs; a success closes it, a failure opens it again', () => {
  const { circuit, changes } = breaker(1, 1000);
  circuit.recordFailure(0);
  assert.equal(circuit.allows(999), false);
  assert.equal(circuit.allows(1000), true);
  assert.equal(circuit.state, 'half-open');
  circuit.recordFailure(1000);
  assert.equal(circuit.state, 'open');
  assert.equal(circuit.allows(1999), false);
  assert.equal(circuit.allows(2000), true);
  circuit.recordSuccess();
  assert.equal(circuit.state, 'closed');
  assert.deepEqual(changes, ['open', 'half-open', 'open', 'half-open', 'closed']);
});

test('failures while open do not postpone the half-open probe', () => {
  const { circuit } = breaker(1, 1000);
  circuit.recordFailure(0);
  for (let t = 100; t < 1000; t += 100) circuit.recordFailure(t);
  assert.equal(circuit.allows(1000), true);
  assert.equal(circuit.state, 'half-open');
});

test('a success while open leaves it open (queued writes completing do not close it); only half-open closes', () => {
  const { circuit, changes } = breaker(1, 1000);
  circuit.recordFailure(0);
  assert.equal(circuit.recordSuccess(), false);
  assert.equal(circuit.recordSuccess(), false);
  assert.equal(circuit.state, 'open');
  assert.equal(circuit.allows(500), false, 'still failing fast');
  assert.equal(circuit.allows(1000), true);
  assert.equal(circuit.recordSuccess(), true);
  assert.equal(circuit.state, 'closed');
  assert.deepEqual(changes, ['open', 'half-open', 'closed']);
});

test('a success while closed reports closed and changes nothing', () => {
  const { circuit, changes } = breaker(2);
  assert.equal(circuit.recordSuccess(), true);
  assert.deepEqual(changes, []);
});
