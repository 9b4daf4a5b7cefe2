/**
 * One opened GameGateway.StreamPackets call, from the moment the stream opens until it fails or ends. It owns what
 * belongs to that stream alone: the one batch in flight (packets, serialized bytes, the in-flight gauge) and the
 * sessions the backend has been OPENed on it. The stream actor drops the object when the stream dies and makes a new
 * one for the next stream, so a late callback of a dead call (a write callback, an error, a status) finds a dead
 * object and touches nothing of its successor.
 */
import * as grpc from '@grpc/grpc-js';
import { EndpointSlot } from '../core/counters.ts';
import { openPacketStream } from './grpc-channel.ts';
import { encodePacketBatch } from './packet-codec.ts';
import type { StreamBatch, StreamPacket } from './stream-packet.ts';
import type { PacketProbe, ProbeSink } from './packet-probe.ts';

export interface StreamCallEvents {
  /** A batch from the backend, in stream order. */
  received(packets: StreamPacket[]): void;
  /** The batch in flight was accepted by HTTP/2 flow control (`bytes` serialized). */
  written(bytes: number): void;
  /** The stream failed, or the backend ended it while the gateway had not. */
  failed(err: Error): void;
  /** The half-close asked for by `end()` completed (the backend answered with its status). */
  ended(): void;
}

export class StreamCall {
  /** Sessions OPENed on this stream, by key (StreamSessions.fillBatch adds, a CLOSE removes). */
  readonly opened = new Set<number>();
  readonly #call: grpc.ClientDuplexStream<StreamBatch, StreamBatch>;
  readonly #counters: Float64Array;
  readonly #events: StreamCallEvents;
  readonly #probes: ProbeSink | null;
  /** The probes of the batch in flight, told how its write ended (usually none). */
  readonly #inFlightProbes: PacketProbe[] = [];
  #dead = false;
  #ending = false;
  #inFlight = false;
  #inFlightPackets = 0;
  /** Serialized bytes of the batch in flight: set by `#serialize` as grpc-js encodes it. */
  #inFlightBytes = 0;

  /** grpc-js calls this synchronously inside write(): the exact size of what it now holds for this stream. */
  readonly #serialize = (batch: StreamBatch): Buffer => {
    const bytes = encodePacketBatch(batch);
    const counters = this.#counters;
    this.#inFlightBytes = bytes.length;
    counters[EndpointSlot.IN_FLIGHT_BYTES] = bytes.length;
    if (bytes.length > counters[EndpointSlot.IN_FLIGHT_BYTES_PEAK]!) counters[EndpointSlot.IN_FLIGHT_BYTES_PEAK] = bytes.length;
    return bytes;
  };

  readonly #afterWrite = (err?: Error | null): void => {
    if (this.#dead) return;
    this.#inFlight = false;
    this.#counters[EndpointSlot.IN_FLIGHT_BYTES] = 0;
    if (this.#inFlightProbes.length > 0) this.#probesWritten(!err);
    // A failed write is followed by the call's error event, which reports it.
    if (!err) this.#events.written(this.#inFlightBytes);
  };

  constructor(
    client: grpc.Client,
    metadata: grpc.Metadata,
    counters: Float64Array,
    events: StreamCallEvents,
    probes: ProbeSink | null = null,
  ) {
    this.#counters = counters;
    this.#events = events;
    this.#probes = probes;
    const call = openPacketStream(client, metadata, this.#serialize);
    this.#call = call;
    call.on('data', (batch: StreamBatch) => {
      if (!this.#dead) events.received(batch.packets);
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (!this.#dead) events.failed(err);
    });
    call.on('status', (status: grpc.StatusObject) => {
      if (this.#dead) return;
      if (this.#ending) events.ended();
      else if (status.code === grpc.status.OK) events.failed(new Error('backend ended the stream'));
    });
  }

  /** A batch is in flight: the next write waits for its callback. */
  get writing(): boolean {
    return this.#inFlight;
  }

  /** `end()` was called: nothing more may be written. */
  get ending(): boolean {
    return this.#ending;
  }

  /** @param probes the probes of the batch's packets (emptied here): told when grpc-js reports the write */
  write(batch: StreamBatch, probes?: PacketProbe[]): void {
    this.#inFlight = true;
    this.#inFlightPackets = batch.packets.length;
    if (probes !== undefined && probes.length > 0) {
      for (const probe of probes) this.#inFlightProbes.push(probe);
      probes.length = 0;
    }
    this.#call.write(batch, this.#afterWrite);
  }

  /** Half-closes the stream once nothing is in flight; `ended` follows when the backend answers. */
  end(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#call.end();
  }

  /**
   * Cancels the call and kills this object: nothing it does afterwards reaches the actor. Returns the packets that
   * were in flight (at most once: they may or may not have reached the backend), counted as dropped in flight.
   */
  cancel(): number {
    if (this.#dead) return 0;
    this.#dead = true;
    let lost = 0;
    if (this.#inFlight) {
      lost = this.#inFlightPackets;
      this.#counters[EndpointSlot.DROPPED_IN_FLIGHT] += lost;
      this.#counters[EndpointSlot.IN_FLIGHT_BYTES] = 0;
      if (this.#inFlightProbes.length > 0) this.#probesWritten(false);
    }
    this.#call.cancel();
    return lost;
  }

  #probesWritten(ok: boolean): void {
    const probes = this.#inFlightProbes;
    const at = performance.now();
    for (const probe of probes) this.#probes?.written(probe, at, ok);
    probes.length = 0;
  }
}
