/**
 * A v1 protocol client for tests (the `ws` package: Node 20 has no global WebSocket). It records every frame and
 * control message the gateway sends and offers deadline-bound waits on them.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { Control, decodeControl, encodeHeartbeat, encodeRefresh, encodeTopicControl, encodeTraceContext } from '../protocol/control.ts';
import type { ControlMessage } from '../protocol/control.ts';
import { decodeFrame, encodeFrame, serverTypeOf, SUBPROTOCOL } from '../protocol/frame.ts';
import { codeName } from '../protocol/codes.ts';
import { ActorgateError } from '../core/errors.ts';
import { DEFAULT_WAIT_MS, WaitTimeoutError, waitForEvent } from './wait.ts';

export { SUBPROTOCOL };

export interface ProtocolClientOptions {
  /** Subprotocols offered in the upgrade; `[]` offers none. @default ['actorgate.v1'] */
  protocols: string[];
  /** `false` stops reading the socket right after WELCOME (a slow consumer); `resumeReading()` undoes it. @default true */
  read: boolean;
  /** Deadline for the upgrade and the WELCOME message. @default 5000 */
  connectTimeoutMs: number;
  /** `close()` falls back to `terminate()` when the closing handshake takes longer. @default 1000 */
  closeTimeoutMs: number;
  /** Extra upgrade request headers. @default {} */
  headers: Record<string, string>;
  /** wss:// only: the CA certificates (PEM) the server's certificate is verified against. @default Node's bundled CAs */
  ca?: string | Buffer;
}

const defaults: Readonly<ProtocolClientOptions> = Object.freeze({
  protocols: [SUBPROTOCOL],
  read: true,
  connectTimeoutMs: 5000,
  closeTimeoutMs: 1000,
  headers: {},
});

/** A data frame from a backend (serverType ≠ 0). `payload` is a view, not a copy. */
export interface ReceivedFrame {
  msgId: number;
  serverId: number;
  payload: Buffer;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

export type ControlType = ControlMessage['type'];
export type ControlOf<T extends ControlType> = Extract<ControlMessage, { type: T }>;

/** Events; `change` follows every message and the close: the moment to re-check state. */
export interface ProtocolClientEvents {
  frame: [frame: ReceivedFrame];
  control: [control: ControlMessage];
  close: [info: CloseInfo];
  change: [];
}

/** The connection failed before WELCOME: refused upgrade (`statusCode`), a close (`closeCode`) or a socket error. */
export class ConnectError extends ActorgateError {
  readonly statusCode: number | undefined;
  readonly closeCode: number | undefined;
  readonly closeReason: string | undefined;
  constructor(message: string, details: { statusCode?: number; closeCode?: number; closeReason?: string; cause?: unknown }) {
    super('ERR_ACTORGATE_TESTKIT_CONNECT', message, { cause: details.cause });
    this.name = 'ConnectError';
    this.statusCode = details.statusCode;
    this.closeCode = details.closeCode;
    this.closeReason = details.closeReason;
  }
}

/** A wait can never be satisfied: the connection closed first. */
export class ClientClosedError extends ActorgateError {
  readonly closeCode: number;
  readonly closeReason: string;
  constructor(info: CloseInfo, what: string) {
    super('ERR_ACTORGATE_TESTKIT_CLIENT_CLOSED', `connection closed (${describeClose(info)}) before ${what}`);
    this.name = 'ClientClosedError';
    this.closeCode = info.code;
    this.closeReason = info.reason;
  }
}

export class ProtocolClient extends EventEmitter<ProtocolClientEvents> {
  /** Data frames received (serverType ≠ 0), in order. */
  readonly frames: ReceivedFrame[] = [];
  /** Control messages received (serverType 0), in order; the first is WELCOME. */
  readonly controls: ControlMessage[] = [];
  /** Messages that were not valid frames (text, or a bad header): the gateway should never send one. */
  readonly invalid: Buffer[] = [];
  /** Socket errors seen (the close follows). */
  readonly errors: Error[] = [];
  /** Set from WELCOME. */
  sessionId = '';
  worker = -1;
  gateName = '';
  /** Resolves when the connection is closed, however it ended; never rejects. */
  readonly closed: Promise<CloseInfo>;
  closeInfo: CloseInfo | undefined;
  readonly ws: WebSocket;

  readonly #options: Readonly<ProtocolClientOptions>;
  readonly #welcomed: Promise<this>;
  #frameCursor = 0;
  readonly #controlCursors = new Map<ControlType, number>();

  /** Use `connectClient()`, which also waits for WELCOME. */
  constructor(url: string, options: Partial<ProtocolClientOptions> = {}) {
    super();
    this.setMaxListeners(0);
    this.#options = Object.freeze({ ...defaults, ...options });
    const tls = this.#options.ca === undefined ? {} : { ca: this.#options.ca };
    this.ws = new WebSocket(url, this.#options.protocols, { headers: this.#options.headers, perMessageDeflate: false, ...tls });
    this.ws.binaryType = 'nodebuffer';
    this.closed = new Promise<CloseInfo>((resolve) => {
      this.ws.on('close', (code, reason) => {
        const info = { code, reason: reason.toString('utf8') };
        this.closeInfo = info;
        resolve(info);
        this.emit('close', info);
        this.emit('change');
      });
    });
    this.ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    this.ws.on('error', (err) => {
      this.errors.push(err);
      this.emit('change');
    });
    this.#welcomed = this.#awaitWelcome(url);
    // Marks the promise handled for a client built with `new` whose caller never asks; connected() still rejects.
    this.#welcomed.catch(() => {});
  }

  /** Resolves once WELCOME arrived; rejects on a failed upgrade, an early close, or the connect deadline. */
  connected(): Promise<this> {
    return this.#welcomed;
  }

  /** The subprotocol the gateway accepted ('' for none). */
  get protocol(): string {
    return this.ws.protocol;
  }

  /** Bytes queued in the socket, not yet sent. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(msgId: number, serverId: number, payload: Uint8Array | string = new Uint8Array(0)): void {
    this.ws.send(encodeFrame(msgId, serverId, typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload));
  }

  /** Sends bytes as one binary message, unchecked (for malformed frames). */
  sendRaw(bytes: Uint8Array | ArrayBuffer): void {
    this.ws.send(bytes, { binary: true });
  }

  sendText(text: string): void {
    this.ws.send(text, { binary: false });
  }

  heartbeat(payload: Uint8Array = new Uint8Array(0)): void {
    this.ws.send(encodeHeartbeat(payload));
  }

  subscribe(topic: string): void {
    this.ws.send(encodeTopicControl(Control.SUBSCRIBE, topic));
  }

  unsubscribe(topic: string): void {
    this.ws.send(encodeTopicControl(Control.UNSUBSCRIBE, topic));
  }

  /** Sends a fresh token for the session (REFRESH); the answer is a `refresh-result` control message. */
  refresh(token: string): void {
    this.ws.send(encodeRefresh(token));
  }

  /** Attaches W3C trace context (32 and 16 hex characters) to the session's next DATA (TRACE_CONTEXT). */
  traceContext(traceId: string, spanId: string, flags?: number): void {
    this.ws.send(encodeTraceContext(traceId, spanId, flags));
  }

  /** Stops reading the socket: the gateway's writes back up into its send buffer (slow-consumer tests). */
  pauseReading(): void {
    this.ws.pause();
  }

  resumeReading(): void {
    this.ws.resume();
  }

  /** The next data frame not yet returned by `nextFrame()`. */
  nextFrame(timeoutMs: number = DEFAULT_WAIT_MS): Promise<ReceivedFrame> {
    return this.#wait(
      () => (this.#frameCursor < this.frames.length ? this.frames[this.#frameCursor++] : undefined),
      timeoutMs,
      () => `frame #${this.#frameCursor + 1} (received ${this.frames.length} frames)`,
    );
  }

  /** The first `count` data frames received. */
  waitForFrames(count: number, timeoutMs: number = DEFAULT_WAIT_MS): Promise<ReceivedFrame[]> {
    return this.#wait(
      () => (this.frames.length >= count ? this.frames.slice(0, count) : undefined),
      timeoutMs,
      () => `${count} frames (received ${this.frames.length})`,
    );
  }

  /** The first data frame received (before or after the call) that matches. */
  waitForFrame(predicate: (frame: ReceivedFrame) => boolean, timeoutMs: number = DEFAULT_WAIT_MS): Promise<ReceivedFrame> {
    let scanned = 0;
    return this.#wait(
      () => {
        for (; scanned < this.frames.length; scanned++) if (predicate(this.frames[scanned]!)) return this.frames[scanned];
        return undefined;
      },
      timeoutMs,
      () => `a matching frame (received ${this.frames.length} frames, none matched)`,
    );
  }

  /** The next control message of `type` not yet returned by `waitForControl(type)`. */
  waitForControl<T extends ControlType>(type: T, timeoutMs: number = DEFAULT_WAIT_MS): Promise<ControlOf<T>> {
    return this.#wait(
      () => {
        for (let i = this.#controlCursors.get(type) ?? 0; i < this.controls.length; i++) {
          const control = this.controls[i]!;
          if (control.type !== type) continue;
          this.#controlCursors.set(type, i + 1);
          return control as ControlOf<T>;
        }
        this.#controlCursors.set(type, this.controls.length);
        return undefined;
      },
      timeoutMs,
      () => `a '${type}' control message (received: ${this.controls.map(describeControl).join(', ') || 'none'})`,
    );
  }

  /** Re-evaluates `condition` after every message and the close. */
  waitFor(condition: (client: this) => boolean, timeoutMs: number = DEFAULT_WAIT_MS, what = 'condition'): Promise<void> {
    return waitForEvent(this, 'change', () => (condition(this) ? true : undefined), timeoutMs, () => `${what} (${this.#describe()})`).then(
      () => undefined,
    );
  }

  /** Starts the closing handshake (terminating when reading is paused or it overruns `closeTimeoutMs`). Idempotent. */
  close(code = 1000, reason = ''): Promise<CloseInfo> {
    if (this.closeInfo !== undefined) return this.closed;
    // A paused socket never reads the gateway's close frame, so the handshake could not finish.
    if (this.ws.isPaused || this.ws.readyState === WebSocket.CONNECTING) return this.terminate();
    this.ws.close(code, reason);
    const timer = setTimeout(() => this.ws.terminate(), this.#options.closeTimeoutMs);
    timer.unref();
    void this.closed.then(() => clearTimeout(timer));
    return this.closed;
  }

  /** Drops the TCP connection without a closing handshake. Idempotent. */
  terminate(): Promise<CloseInfo> {
    if (this.closeInfo === undefined) this.ws.terminate();
    return this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (!isBinary) {
      this.invalid.push(data);
      this.emit('change');
      return;
    }
    let msgId: number;
    let serverId: number;
    let payload: Buffer;
    try {
      const frame = decodeFrame(data);
      msgId = frame.msgId;
      serverId = frame.serverId;
      payload = Buffer.from(frame.payload.buffer, frame.payload.byteOffset, frame.payload.byteLength);
    } catch {
      this.invalid.push(data);
      this.emit('change');
      return;
    }
    if (serverTypeOf(serverId) === 0) {
      let control: ControlMessage;
      try {
        control = decodeControl(msgId, payload);
      } catch {
        this.invalid.push(data);
        this.emit('change');
        return;
      }
      this.controls.push(control);
      if (control.type === 'welcome' && this.sessionId === '') {
        this.sessionId = control.sessionId;
        this.worker = control.worker;
        this.gateName = control.gateName;
        if (!this.#options.read) this.ws.pause();
      }
      this.emit('control', control);
    } else {
      const frame: ReceivedFrame = { msgId, serverId, payload };
      this.frames.push(frame);
      this.emit('frame', frame);
    }
    this.emit('change');
  }

  async #awaitWelcome(url: string): Promise<this> {
    try {
      await waitForEvent(
        this,
        'change',
        () => {
          if (this.sessionId !== '') return true;
          if (this.closeInfo !== undefined) throw this.#connectError(url);
          return undefined;
        },
        this.#options.connectTimeoutMs,
        () => `WELCOME from ${url} (${this.#describe()})`,
      );
      return this;
    } catch (err) {
      if (err instanceof WaitTimeoutError) this.ws.terminate();
      throw err;
    }
  }

  #connectError(url: string): ConnectError {
    const info = this.closeInfo!;
    const cause = this.errors[0];
    const status = cause ? /Unexpected server response: (\d+)/.exec(cause.message) : null;
    if (status) return new ConnectError(`upgrade to ${url} refused with HTTP ${status[1]}`, { statusCode: Number(status[1]), cause });
    if (cause && info.code === 1006) return new ConnectError(`connecting to ${url} failed: ${cause.message}`, { cause });
    return new ConnectError(`${url} closed the connection (${describeClose(info)}) before WELCOME`, {
      closeCode: info.code,
      closeReason: info.reason,
      cause,
    });
  }

  #wait<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    return waitForEvent(
      this,
      'change',
      () => {
        const value = check();
        if (value === undefined && this.closeInfo !== undefined) throw new ClientClosedError(this.closeInfo, describe());
        return value;
      },
      timeoutMs,
      () => `${describe()}; ${this.#describe()}`,
    );
  }

  #describe(): string {
    const state = this.closeInfo ? `closed (${describeClose(this.closeInfo)})` : ['connecting', 'open', 'closing', 'closed'][this.ws.readyState];
    return `session ${this.sessionId || '?'}, ${state}, ${this.frames.length} frames, ${this.controls.length} controls`;
  }
}

/** Connects and waits for WELCOME (so `sessionId`, `worker` and `gateName` are set). */
export function connectClient(url: string, options: Partial<ProtocolClientOptions> = {}): Promise<ProtocolClient> {
  return new ProtocolClient(url, options).connected();
}

function describeClose(info: CloseInfo): string {
  const name = info.code >= 4000 && info.code <= 4999 ? ` ${codeName(info.code)}` : '';
  return `code ${info.code}${name}${info.reason ? `: ${info.reason}` : ''}`;
}

function describeControl(control: ControlMessage): string {
  return control.type === 'error' ? `error ${control.code} ${codeName(control.code)}` : control.type;
}
