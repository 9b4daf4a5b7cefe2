/**
 * Internal errors. Each has a stable `code` (`ERR_ACTORGATE_…`), an optional `cause`, and a `Symbol.for` brand so
 * `isActorgateError` works across module copies. Errors cross threads as `{ code, message }` and are rebuilt with
 * `errorFromWire`. The codes a *client* can see are a separate wire table: src/protocol/codes.ts.
 */
const kBrand = Symbol.for('actorgate.error');

export class ActorgateError extends Error {
  readonly code: string;
  readonly [kBrand] = true;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ActorgateError';
    this.code = code;
  }
}

/** A configuration value is wrong; `field` names it in dotted form (`routes[2].endpoints`). */
export class ConfigError extends ActorgateError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('ERR_ACTORGATE_CONFIG', `invalid config: ${field}: ${message}`);
    this.name = 'ConfigError';
    this.field = field;
  }
}

export class WorkerFailedError extends ActorgateError {
  constructor(worker: number, message: string, options?: { cause?: unknown }) {
    super('ERR_ACTORGATE_WORKER_FAILED', `worker ${worker}: ${message}`, options);
    this.name = 'WorkerFailedError';
  }
}

export class ClosedError extends ActorgateError {
  constructor(what: string) {
    super('ERR_ACTORGATE_CLOSED', `${what} is closed`);
    this.name = 'ClosedError';
  }
}

/**
 * A PacketBatch that cannot be decoded (truncated or malformed protobuf), or a Packet that cannot be encoded (a
 * session id that is no unsigned 64-bit decimal). grpc-js turns either into an INTERNAL stream error.
 */
export class PacketCodecError extends ActorgateError {
  constructor(message: string) {
    super('ERR_ACTORGATE_PACKET_CODEC', message);
    this.name = 'PacketCodecError';
  }
}

export function isActorgateError(err: unknown): err is ActorgateError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[kBrand] === true;
}

/** The shape an error takes on a thread boundary. */
export interface WireError {
  code: string;
  message: string;
  stack?: string;
}

export function errorToWire(err: unknown): WireError {
  if (isActorgateError(err)) return { code: err.code, message: err.message, stack: err.stack };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'ERR_ACTORGATE_INTERNAL', message: err.message, stack: err.stack };
  }
  return { code: 'ERR_ACTORGATE_INTERNAL', message: String(err) };
}

export function errorFromWire(wire: WireError): ActorgateError {
  const err = new ActorgateError(wire.code, wire.message);
  if (wire.stack) err.stack = wire.stack;
  return err;
}
