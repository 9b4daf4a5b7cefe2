/**
 * An OTLP/gRPC trace receiver that accepts every export and discards it, in its own process so that its CPU is not
 * the gateway's. It counts exports, bytes and spans; spans by walking the request's length-delimited fields
 * (ExportTraceServiceRequest.resource_spans 1 → ScopeSpans 2 → Span 2) without decoding them.
 *
 *   node --import tsx bench/tracing/otlp-sink-process.ts
 */
import * as grpc from '@grpc/grpc-js';
import { announceReady, serveParent } from '../lib/child-ipc.ts';

export interface SinkReady {
  pid: number;
  url: string;
}

export interface SinkStats {
  exports: number;
  bytes: number;
  spans: number;
}

const stats: SinkStats = { exports: 0, bytes: 0, spans: 0 };

function varint(buf: Buffer, pos: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, pos];
    shift += 7;
  }
}

/** Calls `each` with the [start, end) of every length-delimited field `field` in buf[from, to); skips the rest. */
type Each = (start: number, end: number) => void;

function fields(buf: Buffer, from: number, to: number, field: number, each: Each): void {
  let pos = from;
  while (pos < to) {
    const [tag, afterTag] = varint(buf, pos);
    const wire = tag & 7;
    pos = afterTag;
    if (wire === 0) pos = varint(buf, pos)[1];
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [length, start] = varint(buf, pos);
      pos = start + length;
      if (tag >>> 3 === field) each(start, pos);
    } else throw new Error(`unexpected wire type ${wire}`);
  }
}

function countSpans(request: Buffer): number {
  let spans = 0;
  const span: Each = () => spans++;
  const scope: Each = (from, to) => fields(request, from, to, 2, span);
  fields(request, 0, request.length, 1, (from, to) => fields(request, from, to, 2, scope));
  return spans;
}

const raw = (value: Buffer) => value;
const service: grpc.ServiceDefinition = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    // An empty ExportTraceServiceResponse: no partial_success, everything accepted.
    responseSerialize: () => Buffer.alloc(0),
    responseDeserialize: raw,
  },
};

const server = new grpc.Server();
server.addService(service, {
  Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
    stats.exports++;
    stats.bytes += call.request.length;
    stats.spans += countSpans(call.request);
    done(null, Buffer.alloc(0));
  },
});
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) =>
    err ? reject(err) : resolve(bound),
  ),
);

serveParent(
  (request) => {
    if (request.type === 'stats') return { ...stats };
    throw new Error(`unknown request ${request.type}`);
  },
  () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
);

announceReady({ pid: process.pid, url: `http://127.0.0.1:${port}` } satisfies SinkReady);
