import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { channelOptions, openPacketStream } from '../../../src/backend/grpc-channel.ts';
import { encodePacketBatch } from '../../../src/backend/packet-codec.ts';
import { actorgateV1 } from '../../../src/backend/proto.ts';
import { resolveConfig } from '../../../src/core/options.ts';

test('grpc-js’s subchannel reconnect backoff comes from the configured backoff (it paces TCP connects)', () => {
  const { backend } = resolveConfig({ backend: { reconnectInitialMs: 37, reconnectMaxMs: 4321 } });
  const options = channelOptions(backend);
  assert.equal(options['grpc.initial_reconnect_backoff_ms'], 37);
  assert.equal(options['grpc.max_reconnect_backoff_ms'], 4321);
});

test('long-lived stream options are set deliberately: retries off, keepalive, window, session memory, own connection', () => {
  const { backend } = resolveConfig({ backend: { keepaliveMs: 1500, keepaliveTimeoutMs: 700 } });
  const options = channelOptions(backend);
  assert.equal(options['grpc.enable_retries'], 0);
  assert.equal(options['grpc.keepalive_time_ms'], 1500);
  assert.equal(options['grpc.keepalive_timeout_ms'], 700);
  assert.equal(options['grpc-node.flow_control_window'], backend.flowControlWindowBytes);
  assert.equal(options['grpc-node.max_session_memory'], 64);
  assert.equal(options['grpc.use_local_subchannel_pool'], 1);
});

test('a batch from the backend that does not decode ends the stream with INTERNAL (an error event, not a throw)', async () => {
  const server = new grpc.Server();
  const path = actorgateV1().GameGateway.service.StreamPackets!.path;
  const identity = (bytes: Buffer) => bytes;
  server.addService(
    { StreamPackets: { path, requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    { StreamPackets: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => call.write(Buffer.from([0x0a, 0x05, 0x10])) },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const call = openPacketStream(client, new grpc.Metadata(), encodePacketBatch);
    call.on('data', () => assert.fail('a malformed batch was delivered'));
    const err = await new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    assert.equal(err.code, grpc.status.INTERNAL);
    assert.match(err.details, /malformed PacketBatch/);
  } finally {
    client.close();
    server.forceShutdown();
  }
});
