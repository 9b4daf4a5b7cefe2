/**
 * The backend bundled with `actorgate demo`: echoes every DATA packet to its session and broadcasts a tick to every
 * open session. Built on the testkit's MockBackend (echo mode, nothing recorded) plus a timer.
 */
import { packServerId } from '../protocol/frame.ts';
import type { Logger } from '../core/logger.ts';
import { startMockBackend } from '../testkit/mock-backend.ts';

export interface DemoBackendOptions {
  /** 0 picks an ephemeral port. @default 0 */
  port: number;
  /** @default '127.0.0.1' */
  host: string;
  /** Interval of the tick broadcast. @default 5000 */
  broadcastIntervalMs: number;
  /** @default undefined */
  logger: Logger | undefined;
}

export interface DemoBackend {
  readonly endpoint: string;
  readonly port: number;
  /** Stops the ticks and shuts the backend down. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const defaults: Readonly<DemoBackendOptions> = Object.freeze({
  port: 0,
  host: '127.0.0.1',
  broadcastIntervalMs: 5000,
  logger: undefined,
});

/** The tick's msgId and serverId (serverType 1, as the demo route). */
export const TICK_MSG_ID = 1;
export const TICK_SERVER_ID = packServerId({ serverType: 1 });

export async function startDemoBackend(options: Partial<DemoBackendOptions> = {}): Promise<DemoBackend> {
  const { port, host, broadcastIntervalMs, logger } = { ...defaults, ...options };
  if (!Number.isFinite(broadcastIntervalMs) || broadcastIntervalMs <= 0) {
    throw new TypeError(`DemoBackendOptions.broadcastIntervalMs must be a positive number, got ${broadcastIntervalMs}`);
  }
  // maxRecordedPackets 0: a demo runs for hours; keep nothing but the session set.
  const backend = await startMockBackend({ host, port, mode: 'echo', maxRecordedPackets: 0, logger });
  let n = 0;
  const timer = setInterval(() => {
    n++;
    const payload = JSON.stringify({ type: 'tick', n, sessions: backend.sessions.size });
    const sent = backend.broadcast(TICK_MSG_ID, TICK_SERVER_ID, payload);
    logger?.debug({ n, sessions: sent }, 'demo backend: tick');
  }, broadcastIntervalMs);
  timer.unref();
  logger?.info({ endpoint: backend.endpoint }, 'demo backend listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (clearInterval(timer), backend.close());
    return closing;
  };
  return {
    endpoint: backend.endpoint,
    port: backend.port,
    close,
    [Symbol.asyncDispose]: close,
  };
}
