import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENDPOINT_SLOTS, EndpointStageSlot, STAGE_BOUNDS_SECONDS, StageSlot, WORKER_SLOTS } from '../../../src/core/counters.ts';
import { readHistogram } from '../../../src/core/histogram-slots.ts';
import type { PacketProbe } from '../../../src/backend/packet-probe.ts';
import { StageProbes, epochNow, observePush, type ProbeTracer } from '../../../src/worker/stage-probes.ts';

const countOf = (slots: Float64Array, base: number) => readHistogram(slots, base, STAGE_BOUNDS_SECONDS).count;
const sumOf = (slots: Float64Array, base: number) => readHistogram(slots, base, STAGE_BOUNDS_SECONDS).sum;

describe('stage probes', () => {
  it('the countdown hands out a probe for exactly 1 message in N; 0 never does', () => {
    for (const every of [1, 3, 64]) {
      const probes = new StageProbes(every);
      let taken = 0;
      for (let i = 0; i < every * 10; i++) if (probes.take() !== null) taken++;
      assert.equal(taken, 10, `every ${every}`);
    }
    const off = new StageProbes(0);
    for (let i = 0; i < 10_000; i++) assert.equal(off.take(), null);
    assert.equal(off.arrival(1_000_000), 0, 'no clock read for a batch when off');
  });

  it('the sink times the queue and write stages of stage probes only, and hands traced probes to the tracer', () => {
    const probes = new StageProbes(1);
    const counters = new Float64Array(ENDPOINT_SLOTS);
    const sink = probes.sink(counters);
    const heard: string[] = [];
    const tracer: ProbeTracer = {
      mailboxOut: (p, at) => heard.push(`out ${String(p.trace)} ${at}`),
      written: (p, at, ok) => heard.push(`written ${String(p.trace)} ${at} ${ok}`),
    };
    const staged = probes.take()!;
    const traced: PacketProbe = { inAt: staged.inAt, stage: false, trace: 'span' };
    sink.mailboxOut(staged, staged.inAt + 2);
    sink.mailboxOut(traced, staged.inAt + 2);
    sink.written(staged, staged.inAt + 5, true);
    sink.written(traced, staged.inAt + 5, true);
    assert.deepEqual(heard, [], 'no tracer set: nothing heard, nothing thrown');
    assert.equal(countOf(counters, EndpointStageSlot.QUEUE), 1, 'the traced probe is not a stage sample');
    assert.ok(Math.abs(sumOf(counters, EndpointStageSlot.QUEUE) - 0.002) < 1e-9);
    assert.equal(countOf(counters, EndpointStageSlot.WRITE), 1);
    const write = sumOf(counters, EndpointStageSlot.WRITE);
    assert.ok(Math.abs(write - 0.003) < 1e-9, 'write: from the batch’s mailbox out to written');

    probes.tracer = tracer;
    sink.mailboxOut(traced, 10);
    sink.mailboxOut(staged, 10);
    sink.written(traced, 12, false);
    sink.written(staged, 12, false);
    assert.deepEqual(heard, ['out span 10', 'written span 12 false'], 'only the traced probe, with the same times');
    assert.equal(countOf(counters, EndpointStageSlot.WRITE), 1, 'a failed write is no write time');
  });

  it('delivery: one DATA send in N is timed from its batch’s arrival; a batch with none due reads no clock', () => {
    const probes = new StageProbes(4);
    const counters = new Float64Array(ENDPOINT_SLOTS);
    const sink = probes.sink(counters);
    assert.equal(probes.arrival(3), 0, 'the 4th send is not in a batch of 3');
    for (let i = 0; i < 3; i++) probes.sent(sink, 0);
    const arrivedAt = probes.arrival(1);
    assert.ok(arrivedAt > 0);
    probes.sent(sink, arrivedAt);
    assert.equal(countOf(counters, EndpointStageSlot.DELIVERY), 1);
    for (let i = 0; i < 7; i++) probes.sent(sink, arrivedAt);
    assert.equal(countOf(counters, EndpointStageSlot.DELIVERY), 2, '8 sends, 2 samples');
  });

  it('a push is timed across threads’ clocks (epoch milliseconds), never below 0', () => {
    const counters = new Float64Array(WORKER_SLOTS);
    observePush(counters, epochNow() - 3);
    observePush(counters, epochNow() + 1000);
    assert.equal(countOf(counters, StageSlot.PUSH), 2);
    const total = sumOf(counters, StageSlot.PUSH);
    assert.ok(total >= 0.003 && total < 0.05, `sum ${total}`);
  });
});
