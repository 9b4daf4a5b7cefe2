/**
 * Internal errors. Each has a stable `code` (`ERR_ACTORGATE_…`), an optional `cause`, and a `Symbol.for` brand so
 * `isActorgateError` works across module copies. Errors cross threads as `{ code, message }` (plus `field` for a
 * ConfigError) and are rebuilt with `errorFromWire`. The codes a *client* can see are a separate wire table: src/protocol/codes.ts.
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

const CONFIG_CODE = 'ERR_ACTORGATE_CONFIG';

function configMessage(field: string, reason: string): string {
  return `invalid config: ${field}: ${reason}`;
}

/** A configuration value is wrong; `field` names it in dotted form (`routes[2].endpoints`). */
export class ConfigError extends ActorgateError {
  readonly field: string;
  constructor(field: string, reason: string) {
    super(CONFIG_CODE, configMessage(field, reason));
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
 * A PacketBatch that cannot be decoded (truncated or malformed protobuf), or one the encoder measured wrong. grpc-js
 * turns either into an INTERNAL stream error.
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

/**
 * The ConfigError in `err`: itself, or the cause it carries (a worker that fails to start rejects the start with a
 * WorkerFailedError whose cause is the worker's error, rebuilt). Checked by code, so module copies agree.
 */
export function configErrorOf(err: unknown): ConfigError | undefined {
  for (let current = err, depth = 0; isActorgateError(current) && depth < 8; current = current.cause, depth++) {
    if (current.code === CONFIG_CODE && typeof (current as { field?: unknown }).field === 'string') return current as ConfigError;
  }
  return undefined;
}

/** The shape an error takes on a thread boundary: structured-clone safe, rebuilt by `errorFromWire`. */
export interface WireError {
  code: string;
  message: string;
  stack?: string;
  /** A ConfigError's bad field, so the other side can say where the value came from. */
  field?: string;
}

export function errorToWire(err: unknown): WireError {
  if (err instanceof ConfigError) return { code: err.code, message: err.message, stack: err.stack, field: err.field };
  if (isActorgateError(err)) return { code: err.code, message: err.message, stack: err.stack };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'ERR_ACTORGATE_INTERNAL', message: err.message, stack: err.stack };
  }
  return { code: 'ERR_ACTORGATE_INTERNAL', message: String(err) };
}

export function errorFromWire(wire: WireError): ActorgateError {
  const err = wire.code === CONFIG_CODE && wire.field !== undefined ? rebuildConfigError(wire.field, wire.message) : new ActorgateError(wire.code, wire.message);
  if (wire.stack) err.stack = wire.stack;
  return err;
}

/** The reason is the message past the prefix ConfigError wrote, so the rebuilt message is the same text. */
function rebuildConfigError(field: string, message: string): ConfigError {
  const prefix = configMessage(field, '');
  return new ConfigError(field, message.startsWith(prefix) ? message.slice(prefix.length) : message);
}
