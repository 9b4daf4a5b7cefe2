/**
 * The GatewayPush gRPC service on the push port (proto/push.proto). `Push` answers with the summary of its batch;
 * `PushStream` is persistent and fire-and-forget, answering once, with the totals, when the client ends it. A stream
 * with too many batches still being routed is paused (HTTP/2 flow control then slows its sender).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../core/logger.ts';
import { gatewayPushService } from '../backend/proto.ts';
import type { PushInput } from './push-item.ts';
import type { PushRouter, PushSummary } from './push-router.ts';

const MAX_IN_FLIGHT_PER_STREAM = 32;

interface PushBatchMessage {
  pushes: PushInput[];
}

export class PushServer {
  readonly #server: grpc.Server;
  readonly #router: PushRouter;

  constructor(router: PushRouter, logger: Logger) {
    this.#router = router;
    this.#server = new grpc.Server({
      'grpc-node.max_session_memory': 64,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      'grpc.keepalive_permit_without_calls': 1,
    });
    this.#server.addService(gatewayPushService(), {
      Push: (call: grpc.ServerUnaryCall<PushBatchMessage, PushSummary>, callback: grpc.sendUnaryData<PushSummary>) => {
        this.#router.route(call.request.pushes).then((summary) => callback(null, summary), (err: Error) => callback(err));
      },
      PushStream: (call: grpc.ServerReadableStream<PushBatchMessage, PushSummary>, callback: grpc.sendUnaryData<PushSummary>) => {
        // Headers now, not with the final answer: until a client sees them, grpc-js acknowledges its writes from a
        // local buffer, so its sender would see no backpressure at all.
        call.sendMetadata(new grpc.Metadata());
        const total: PushSummary = { accepted: 0, delivered: 0, dropped: 0 };
        let inFlight = 0;
        let ended = false;
        let paused = false;
        const done = () => {
          if (ended && inFlight === 0) callback(null, total);
        };
        call.on('data', (batch: PushBatchMessage) => {
          inFlight++;
          if (inFlight >= MAX_IN_FLIGHT_PER_STREAM && !paused) {
            paused = true;
            call.pause();
          }
          void this.#router.route(batch.pushes).then((summary) => {
            total.accepted += summary.accepted;
            total.delivered += summary.delivered;
            total.dropped += summary.dropped;
            inFlight--;
            if (paused && inFlight < MAX_IN_FLIGHT_PER_STREAM / 2) {
              paused = false;
              call.resume();
            }
            done();
          });
        });
        call.on('end', () => {
          ended = true;
          done();
        });
        call.on('error', (err) => logger.debug({ err: err.message }, 'push stream ended with an error'));
      },
    });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
    });
  }

  /** Graceful within `deadlineMs`, then forced. */
  close(deadlineMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, deadlineMs).unref();
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
