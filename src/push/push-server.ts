/**
 * The GatewayPush gRPC service on the push port (proto/push.proto). `Push` answers with the summary of its batch;
 * `PushStream` is persistent and fire-and-forget, answering once, with the totals, when the client ends it. A stream
 * with too many batches still being routed is paused (HTTP/2 flow control then slows its sender). With `push.apiKeys`
 * set, a call without one of the keys is refused UNAUTHENTICATED at its start, before any of its pushes is routed.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../core/logger.ts';
import { gatewayPushService } from '../backend/proto.ts';
import type { PushInput } from './push-item.ts';
import type { PushRouter, PushSummary } from './push-router.ts';
import { apiKeyRefusal, presentedKey, type ApiKeys } from '../core/api-keys.ts';
import { codeName } from '../protocol/codes.ts';
import type { TlsMaterial } from '../core/options-tls.ts';
import { PushCredentials } from './push-tls.ts';

const MAX_IN_FLIGHT_PER_STREAM = 32;

interface PushBatchMessage {
  pushes: PushInput[];
}

/** One metadata entry as a string; '' (a key that cannot match) when it is sent twice or as binary. */
function metadataText(metadata: grpc.Metadata, name: string): string | undefined {
  const values = metadata.get(name);
  if (values.length === 0) return undefined;
  return values.length === 1 && typeof values[0] === 'string' ? values[0] : '';
}

/** UNAUTHENTICATED, its message naming the code ("4521 API_KEY_REQUIRED: ..."), or undefined when the call may go on. */
function keyRefusal(keys: ApiKeys, metadata: grpc.Metadata): Partial<grpc.StatusObject> | undefined {
  const verdict = keys.check('push', presentedKey(metadataText(metadata, 'x-api-key'), metadataText(metadata, 'authorization')));
  if (verdict === 'ok') return undefined;
  const { code, reason } = apiKeyRefusal('push', verdict);
  return { code: grpc.status.UNAUTHENTICATED, details: `${code} ${codeName(code)}: ${reason}` };
}

/** `x-actorgate-fanout: local`: this call's pushes are delivered on this instance only, never through Redis (§10). */
function isLocal(metadata: grpc.Metadata): boolean {
  return metadataText(metadata, 'x-actorgate-fanout') === 'local';
}

export class PushServer {
  readonly #server: grpc.Server;
  readonly #router: PushRouter;
  readonly #credentials: PushCredentials;

  /** @param tls with `push.tls`: gRPC over TLS (push-tls.ts) */
  constructor(router: PushRouter, logger: Logger, keys: ApiKeys, tls: TlsMaterial | null = null) {
    this.#router = router;
    this.#credentials = new PushCredentials(tls);
    this.#server = new grpc.Server({
      'grpc-node.max_session_memory': 64,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      'grpc.keepalive_permit_without_calls': 1,
    });
    this.#server.addService(gatewayPushService(), {
      Push: (call: grpc.ServerUnaryCall<PushBatchMessage, PushSummary>, callback: grpc.sendUnaryData<PushSummary>) => {
        const refusal = keyRefusal(keys, call.metadata);
        if (refusal !== undefined) return callback(refusal);
        this.#router.route(call.request.pushes, isLocal(call.metadata)).then((summary) => callback(null, summary), (err: Error) => callback(err));
      },
      PushStream: (call: grpc.ServerReadableStream<PushBatchMessage, PushSummary>, callback: grpc.sendUnaryData<PushSummary>) => {
        const refusal = keyRefusal(keys, call.metadata);
        if (refusal !== undefined) return callback(refusal);
        // Headers now, not with the final answer: until a client sees them, grpc-js acknowledges its writes from a
        // local buffer, so its sender would see no backpressure at all.
        call.sendMetadata(new grpc.Metadata());
        const total: PushSummary = { accepted: 0, delivered: 0, dropped: 0 };
        const local = isLocal(call.metadata);
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
          void this.#router.route(batch.pushes, local).then((summary) => {
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
      this.#server.bindAsync(`${host}:${port}`, this.#credentials.credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
    });
  }

  /** With `push.tls`: new handshakes use `tls`; established connections keep theirs. */
  reloadTls(tls: TlsMaterial): boolean {
    return this.#credentials.reload(tls);
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
