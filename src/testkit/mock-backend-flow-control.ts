/**
 * grpc-js 1.14 passes `grpc-node.flow_control_window` only to clients, so the mock backend sets the HTTP/2 receive
 * window on each server session itself.
 */
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { ActorgateError } from '../core/errors.ts';

/**
 * Applies `window` (bytes, per stream and per connection) to every HTTP/2 session `server` accepts from now on; call
 * it after `bindAsync()`. The server list is grpc-js private state (pinned version); fail loudly if its shape changed.
 */
export function applyFlowControlWindow(server: grpc.Server, window: number): void {
  const servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) {
    throw new ActorgateError('ERR_ACTORGATE_TESTKIT_FLOW_CONTROL', 'mock backend: cannot reach grpc-js http2 servers to set flowControlWindow');
  }
  for (const http2Server of servers.keys()) {
    http2Server.on('session', (session: ServerHttp2Session) => {
      session.settings({ initialWindowSize: window });
      session.setLocalWindowSize(window);
    });
  }
}
