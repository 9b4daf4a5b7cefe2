/** The mock backend's options: their shape, frozen defaults and the one check that names the bad field. */
import type { Logger } from '../core/logger.ts';

export type MockBackendMode = 'echo' | 'record';

export interface MockBackendOptions {
  /** @default '127.0.0.1' */
  host: string;
  /** 0 picks an ephemeral port. @default 0 */
  port: number;
  /** 'echo' answers every DATA packet on its stream (one reply batch per incoming batch); 'record' never answers. @default 'echo' */
  mode: MockBackendMode;
  /** NotifyConnect / NotifyDisconnect answer `UNIMPLEMENTED` (they are still recorded). @default false */
  unimplementedNotify: boolean;
  /**
   * HTTP/2 receive window (per stream and per connection), bytes. grpc-js 1.14 passes `grpc-node.flow_control_window`
   * only to clients, so the mock also applies it to every server session itself. Undefined keeps Node's 65,535.
   * @default undefined
   */
  flowControlWindow: number | undefined;
  /** `grpc-node.max_session_memory`, MiB: bounded on purpose (grpc-js defaults to unlimited). @default 64 */
  maxSessionMemoryMiB: number;
  /** Packets kept in `packets`; later ones are still counted, tracked and emitted. @default Infinity */
  maxRecordedPackets: number;
  /** `close()` waits this long for the gateway to finish its streams, then forces the shutdown. @default 2000 */
  closeTimeoutMs: number;
  /** Logs stream and notify events at debug level. @default undefined */
  logger: Logger | undefined;
}

export const defaultMockBackendOptions: Readonly<MockBackendOptions> = Object.freeze({
  host: '127.0.0.1',
  port: 0,
  mode: 'echo',
  unimplementedNotify: false,
  flowControlWindow: undefined,
  maxSessionMemoryMiB: 64,
  maxRecordedPackets: Infinity,
  closeTimeoutMs: 2000,
  logger: undefined,
});

export function validateMockBackendOptions(options: MockBackendOptions): Readonly<MockBackendOptions> {
  const bad = (field: string, want: string) =>
    new TypeError(`MockBackendOptions.${field} must be ${want}, got ${String(options[field as keyof MockBackendOptions])}`);
  if (options.mode !== 'echo' && options.mode !== 'record') throw bad('mode', "'echo' or 'record'");
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw bad('port', 'an integer 0–65535');
  const window = options.flowControlWindow;
  if (window !== undefined && (!Number.isInteger(window) || window < 65535 || window > 2 ** 31 - 1)) {
    throw bad('flowControlWindow', 'an integer 65535–2147483647');
  }
  if (!(options.maxSessionMemoryMiB > 0)) throw bad('maxSessionMemoryMiB', 'a positive number');
  if (!(options.maxRecordedPackets >= 0)) throw bad('maxRecordedPackets', 'a number ≥ 0');
  if (!(options.closeTimeoutMs >= 0)) throw bad('closeTimeoutMs', 'a number ≥ 0');
  return Object.freeze(options);
}
