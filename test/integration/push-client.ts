/** A real grpc-js GatewayPush client for tests. */
import * as grpc from '@grpc/grpc-js';
import { actorgateV1 } from '../../src/backend/proto.ts';
import type { PushInput } from '../../src/push/push-item.ts';

export interface Summary {
  accepted: number;
  delivered: number;
  dropped: number;
}

interface RawClient extends grpc.Client {
  Push(batch: unknown, callback: (err: grpc.ServiceError | null, summary: Record<string, string>) => void): void;
  PushStream(callback: (err: grpc.ServiceError | null, summary: Record<string, string>) => void): grpc.ClientWritableStream<unknown>;
}

function toSummary(raw: Record<string, string>): Summary {
  return { accepted: Number(raw.accepted), delivered: Number(raw.delivered), dropped: Number(raw.dropped) };
}

export class PushClient {
  readonly #client: RawClient;

  constructor(port: number) {
    const Client = actorgateV1().GatewayPush;
    this.#client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as RawClient;
  }

  push(pushes: PushInput[]): Promise<Summary> {
    return new Promise((resolve, reject) => this.#client.Push({ pushes }, (err, summary) => (err ? reject(err) : resolve(toSummary(summary)))));
  }

  /** Writes the batches on one PushStream and resolves with its final summary. */
  stream(batches: PushInput[][]): Promise<Summary> {
    return new Promise((resolve, reject) => {
      const call = this.#client.PushStream((err, summary) => (err ? reject(err) : resolve(toSummary(summary))));
      for (const pushes of batches) call.write({ pushes });
      call.end();
    });
  }

  close(): void {
    this.#client.close();
  }
}

export async function httpPush(adminPort: number, body: unknown, msgpack = false): Promise<{ status: number; summary: Summary }> {
  const { pack } = await import('msgpackr');
  return httpPushBytes(adminPort, msgpack ? pack(body) : Buffer.from(JSON.stringify(body)), msgpack);
}

/** POST /v1/push with a body already encoded (msgpack when `msgpack`, else JSON). */
export async function httpPushBytes(adminPort: number, body: Uint8Array, msgpack: boolean): Promise<{ status: number; summary: Summary }> {
  const { unpack } = await import('msgpackr');
  const res = await fetch(`http://127.0.0.1:${adminPort}/v1/push`, {
    method: 'POST',
    headers: { 'content-type': msgpack ? 'application/msgpack' : 'application/json' },
    body,
  });
  const raw = Buffer.from(await res.arrayBuffer());
  return { status: res.status, summary: res.status === 200 ? (msgpack ? unpack(raw) : JSON.parse(raw.toString())) : (undefined as never) };
}

/**
 * msgpackr writes a bigint below 2^63 as int64 (0xd3); most other encoders write a non-negative integer as uint64
 * (0xcf). Rewrites the int64 encoding of each id in a packed body as uint64, so a test sends what those encoders send.
 */
export function asUint64(body: Uint8Array, ids: readonly bigint[]): Buffer {
  const out = Buffer.from(body);
  for (const id of ids) {
    const int64 = Buffer.alloc(9);
    int64[0] = 0xd3;
    int64.writeBigUInt64BE(id, 1);
    const at = out.indexOf(int64);
    if (at === -1) throw new Error(`asUint64: ${id} is not int64-encoded in the body`);
    out[at] = 0xcf;
  }
  return out;
}
