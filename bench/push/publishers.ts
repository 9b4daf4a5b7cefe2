/**
 * The two ways a logic server pushes, as the benchmark drives them:
 *
 * - gRPC: one `PushStream` per run (HTTP/2, protobuf), one PushBatch message per call;
 * - REST: `POST /v1/push` on the admin port, HTTP/1.1 keep-alive over a pool of connections, a JSON body per call
 *   with base64 payloads, the JSON summary read back.
 *
 * Both expose `send(…, done)`: `done` runs when the call no longer counts against the sender's window (REST: its
 * response arrived; gRPC: the message left the client's write buffer, the stream's own backpressure).
 */
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { actorgateV1 } from '../../src/backend/proto.ts';
import { PUSH_MSG_ID, PUSH_SERVER_ID, stampedPayload, TOPIC } from './payload.ts';

export type Transport = 'grpc' | 'rest';

/** What the gateway answered, summed over a run. */
export interface PublishTotals {
  accepted: number;
  delivered: number;
  dropped: number;
  /** Calls that failed (transport error, non-200 answer). */
  failedCalls: number;
}

export interface Publisher {
  readonly transport: Transport;
  /** One call carrying `count` pushes numbered `seq`, `seq + 1`, …, all stamped `sentMs`. */
  send(sentMs: number, run: number, seq: number, count: number, done: () => void): void;
  /** Waits for every call to be answered (gRPC: ends the stream) and returns the gateway's totals. */
  finish(): Promise<PublishTotals>;
  close(): void;
}

export interface PublisherOptions {
  payloadBytes: number;
  /** REST: keep-alive connections (one request in flight on each). */
  connections: number;
}

export function createPublisher(transport: Transport, ports: { pushPort: number; adminPort: number }, options: PublisherOptions): Publisher {
  return transport === 'grpc' ? new GrpcPublisher(ports.pushPort, options) : new RestPublisher(ports.adminPort, options);
}

/** PushStream's summary as grpc-js hands it over (uint64 as strings). */
export interface RawSummary {
  accepted: string;
  delivered: string;
  dropped: string;
}

export interface PushStreamClient extends grpc.Client {
  PushStream(callback: (err: grpc.ServiceError | null, summary: RawSummary) => void): grpc.ClientWritableStream<unknown>;
}

class GrpcPublisher implements Publisher {
  readonly transport = 'grpc';
  readonly #client: PushStreamClient;
  readonly #call: grpc.ClientWritableStream<unknown>;
  readonly #result: Promise<PublishTotals>;
  readonly #payloadBytes: number;

  constructor(port: number, options: PublisherOptions) {
    this.#payloadBytes = options.payloadBytes;
    const Client = actorgateV1().GatewayPush;
    // grpc-js keeps a call's writes in its retry buffer, acknowledging them at once, until the server sends response
    // headers; the gateway's PushStream sends none before it ends, so the first 1 MiB of every stream (about 11,000
    // small pushes) would be acknowledged before any reached the gateway. A long-lived stream passes that once; this
    // benchmark opens a stream per run, so it turns the buffer off and every write is paced by HTTP/2 flow control.
    this.#client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.per_rpc_retry_buffer_size': 0 }) as unknown as PushStreamClient;
    let call!: grpc.ClientWritableStream<unknown>;
    this.#result = new Promise((resolve) => {
      call = this.#client.PushStream((err, summary) =>
        resolve(
          err
            ? { accepted: 0, delivered: 0, dropped: 0, failedCalls: 1 }
            : { accepted: Number(summary.accepted), delivered: Number(summary.delivered), dropped: Number(summary.dropped), failedCalls: 0 },
        ),
      );
    });
    this.#call = call;
  }

  send(sentMs: number, run: number, seq: number, count: number, done: () => void): void {
    const pushes = [];
    for (let i = 0; i < count; i++) pushes.push({ topic: TOPIC, msgId: PUSH_MSG_ID, serverId: PUSH_SERVER_ID, payload: stampedPayload(this.#payloadBytes, sentMs, run, seq + i) });
    this.#call.write({ pushes }, done);
  }

  finish(): Promise<PublishTotals> {
    this.#call.end();
    return this.#result;
  }

  close(): void {
    this.#client.close();
  }
}

class RestPublisher implements Publisher {
  readonly transport = 'rest';
  readonly #agent: http.Agent;
  readonly #port: number;
  readonly #payloadBytes: number;
  readonly #totals: PublishTotals = { accepted: 0, delivered: 0, dropped: 0, failedCalls: 0 };
  #inFlight = 0;
  #idle: (() => void) | undefined;

  constructor(port: number, options: PublisherOptions) {
    this.#port = port;
    this.#payloadBytes = options.payloadBytes;
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  }

  send(sentMs: number, run: number, seq: number, count: number, done: () => void): void {
    const pushes = [];
    for (let i = 0; i < count; i++) {
      pushes.push({ topic: TOPIC, msgId: PUSH_MSG_ID, serverId: PUSH_SERVER_ID, payload: stampedPayload(this.#payloadBytes, sentMs, run, seq + i).toString('base64') });
    }
    const body = JSON.stringify({ pushes });
    this.#inFlight++;
    let settled = false;
    const settle = (summary: RawSummary | undefined) => {
      if (settled) return;
      settled = true;
      const totals = this.#totals;
      if (summary === undefined) totals.failedCalls++;
      else {
        totals.accepted += Number(summary.accepted);
        totals.delivered += Number(summary.delivered);
        totals.dropped += Number(summary.dropped);
      }
      if (--this.#inFlight === 0) this.#idle?.();
      done();
    };
    const request = http.request(
      {
        agent: this.#agent,
        host: '127.0.0.1',
        port: this.#port,
        path: '/v1/push',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (part: string) => (text += part));
        response.on('end', () => settle(response.statusCode === 200 ? (JSON.parse(text) as RawSummary) : undefined));
        response.on('error', () => settle(undefined));
      },
    );
    request.on('error', () => settle(undefined));
    request.end(body);
  }

  finish(): Promise<PublishTotals> {
    if (this.#inFlight === 0) return Promise.resolve({ ...this.#totals });
    return new Promise((resolve) => {
      this.#idle = () => resolve({ ...this.#totals });
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
