import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { StreamHealth } from '../../../src/backend/stream-health.ts';
import { ENDPOINT_SLOTS, EndpointSlot } from '../../../src/core/counters.ts';
import { resolveConfig } from '../../../src/core/options.ts';

function health() {
  const { backend } = resolveConfig({ backend: { circuitFailureThreshold: 1, circuitOpenMs: 1000, writeStallMs: 100, failoverAfterMs: 60_000 } });
  const counters = new Float64Array(ENDPOINT_SLOTS);
  return { health: new StreamHealth(backend, counters, pino({ level: 'silent' })), counters };
}

test('writes completing while the circuit is open neither close it nor end the outage; the half-open success does', () => {
  const { health: h, counters } = health();
  h.streamFailed(0);
  assert.equal(h.circuit, 'open');
  h.streamOpened();
  for (let i = 0; i < 5; i++) h.writeCompleted(1000);
  assert.equal(h.circuit, 'open', 'old traffic draining does not close it');
  assert.equal(h.unhealthy, true, 'the outage (and its failover clock) goes on');
  assert.equal(h.admits(true), false, 'still failing fast');
  assert.equal(counters[EndpointSlot.CIRCUIT_CLOSED], 0);

  const tick = h.tick(1000, false, true);
  assert.equal(h.circuit, 'half-open');
  assert.equal(tick.probe, true, 'idle and half-open: probe');
  h.writeCompleted(0);
  assert.equal(h.circuit, 'closed');
  assert.equal(h.unhealthy, false);
  assert.deepEqual(
    [counters[EndpointSlot.CIRCUIT_OPENED], counters[EndpointSlot.CIRCUIT_HALF_OPENED], counters[EndpointSlot.CIRCUIT_CLOSED]],
    [1, 1, 1],
  );
});

test('a write stall in half-open opens the circuit again, without counting a close', () => {
  const { health: h, counters } = health();
  h.streamFailed(0);
  h.streamOpened();
  h.writeStarted(950);
  h.tick(1000, true, false);
  assert.equal(h.circuit, 'half-open');
  h.tick(1050, true, false);
  assert.equal(h.circuit, 'open');
  assert.equal(counters[EndpointSlot.CIRCUIT_OPENED], 2);
  assert.equal(counters[EndpointSlot.CIRCUIT_CLOSED], 0);
});
