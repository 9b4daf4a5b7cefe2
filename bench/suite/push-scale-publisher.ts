/**
 * The logic server of the push-scale scenario: one long-lived gRPC `PushStream` to the gateway's push port, and a
 * pacer that sends every topic one push a second, spread evenly over the second (push i of the run is due i × 1000 /
 * topics ms after its start, to topic i mod topics). Each push carries the time it was handed to the stream, on
 * CLOCK_MONOTONIC (shared by every process here), so a delivery's latency covers grpc-js, the gateway and the socket.
 */
import * as grpc from '@grpc/grpc-js';
import { actorgateV1 } from '../../src/backend/proto.ts';
import { monoMs } from '../lib/clock.ts';
import { LogHistogram, type Percentiles } from '../lib/histogram.ts';
import { PUSH_MSG_ID, PUSH_SERVER_ID, stampedPayload } from '../push/payload.ts';
import type { PushStreamClient } from '../push/publishers.ts';
import { pushDueMs, topicName } from './push-scale-model.ts';

/**
 * Payload `run` of the pushes sent before the measured window, and of those in its first and second half (apart, so
 * that a backlog growing through the window shows as a later half slower than the first).
 */
export const WARMUP_RUN = 0;
export const FIRST_HALF_RUN = 1;
export const SECOND_HALF_RUN = 2;

export interface PaceSpec {
  topics: number;
  warmupSeconds: number;
  measureSeconds: number;
  payloadBytes: number;
  /** Called just before the first measured push is sent, and just after the last. */
  onWindow: (edge: 'open' | 'close') => void;
  /** Called once, halfway through the measured window (a reading of the kernel's socket memory under load). */
  onMidWindow?: () => void;
}

export interface PaceResult {
  sent: number;
  measuredPushes: number;
  /** How late each push left against its due time, µs (the pacer's timer lateness: not in the latency). */
  lateness: Percentiles;
  /** What the gateway answered when the stream ended: its own counts over the whole run. */
  summary: { accepted: number; delivered: number; dropped: number } | null;
  streamError?: string;
}

/** Runs the warm-up and the measured window on one stream; resolves once the gateway has answered its end. */
export function pace(pushPort: number, spec: PaceSpec): Promise<PaceResult> {
  const Client = actorgateV1().GatewayPush;
  // No retry buffer: grpc-js would otherwise acknowledge the first 1 MiB of writes before any reached the gateway
  // (see bench/push/publishers.ts); here it only keeps the client from holding pushes it has not sent.
  const client = new Client(`127.0.0.1:${pushPort}`, grpc.credentials.createInsecure(), { 'grpc.per_rpc_retry_buffer_size': 0 }) as unknown as PushStreamClient;
  let streamError: string | undefined;
  let call!: grpc.ClientWritableStream<unknown>;
  const answered = new Promise<PaceResult['summary']>((resolve) => {
    call = client.PushStream((err, summary) => {
      if (err) {
        streamError = err.message;
        resolve(null);
      } else resolve({ accepted: Number(summary.accepted), delivered: Number(summary.delivered), dropped: Number(summary.dropped) });
    });
  });
  const warmupPushes = spec.warmupSeconds * spec.topics;
  const total = warmupPushes + spec.measureSeconds * spec.topics;
  const midPush = warmupPushes + Math.floor((spec.measureSeconds * spec.topics) / 2);
  const lateness = new LogHistogram();
  const startMs = monoMs() + 50;
  let next = 0;
  return new Promise((resolve) => {
    const finish = async () => {
      call.end();
      const summary = await answered;
      client.close();
      resolve({ sent: next, measuredPushes: total - warmupPushes, lateness: lateness.percentiles(), summary, streamError });
    };
    const tick = () => {
      const nowMs = monoMs();
      while (next < total && startMs + pushDueMs(next, spec.topics) <= nowMs) {
        if (next === warmupPushes) spec.onWindow('open');
        if (next === midPush) spec.onMidWindow?.();
        const sentMs = monoMs();
        lateness.record((sentMs - startMs - pushDueMs(next, spec.topics)) * 1000);
        const run = next < warmupPushes ? WARMUP_RUN : next < midPush ? FIRST_HALF_RUN : SECOND_HALF_RUN;
        const push = { topic: topicName(next % spec.topics), msgId: PUSH_MSG_ID, serverId: PUSH_SERVER_ID, payload: stampedPayload(spec.payloadBytes, sentMs, run, next) };
        call.write({ pushes: [push] });
        next++;
      }
      if (next < total) {
        setTimeout(tick, Math.max(0, startMs + pushDueMs(next, spec.topics) - monoMs()));
        return;
      }
      // The window closes one push interval after the last measured push was due: that push's own second.
      setTimeout(() => {
        spec.onWindow('close');
        void finish();
      }, Math.max(0, startMs + pushDueMs(total, spec.topics) - monoMs()));
    };
    setTimeout(tick, 50);
  });
}
