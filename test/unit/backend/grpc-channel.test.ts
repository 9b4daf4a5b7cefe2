import { test } from 'node:test';
import assert from 'node:assert/strict';
import { channelOptions } from '../../../src/backend/grpc-channel.ts';
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
