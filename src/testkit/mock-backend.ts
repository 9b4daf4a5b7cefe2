/**
 * A real grpc-js `GameGateway` backend for tests: it records what the gateway sends, answers (echo), pushes to
 * sessions, and can stop reading its streams so the gateway's HTTP/2 flow-control window fills (a slow backend).
 */
import { EventEmitter } from 'node:events';
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { gameGatewayService, PacketKind } from '../backend/proto.ts';
import type { Packet, PacketBatch, PacketKindValue, SessionEvent } from '../backend/proto.ts';
import { ActorgateError, ClosedError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { DEFAULT_WAIT_MS, waitForEvent } from './wait.ts';

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

const defaults: Readonly<MockBackendOptions> = Object.freeze({
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

function validate(options: MockBackendOptions): Readonly<MockBackendOptions> {
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

/** A packet the gateway sent, as decoded (proto3 defaults filled in), tagged with the stream that carried it. */
export interface ReceivedPacket {
  /** The stream's id: 0, 1, … in the order streams opened. */
  stream: number;
  /** The stream's `gate-name` metadata: `<gateway name>/<worker index>`. */
  gateName: string;
  kind: PacketKindValue;
  sessionId: string;
  msgId: number;
  serverId: number;
  payload: Buffer;
  traceparent: string;
  code: number;
  reason: string;
  topic: string;
  userId: string;
  path: string;
  remoteAddress: string;
}

export interface StreamInfo {
  id: number;
  gateName: string;
  peer: string;
  /** Open sessions (OPEN seen, CLOSE not yet) carried by this stream. */
  sessions: number;
}

export type NotifyRecord =
  | { type: 'connect'; event: SessionEvent; answered: 'ok' | 'unimplemented' }
  | { type: 'disconnect'; event: SessionEvent; answered: 'ok' | 'unimplemented' };

/** Events; `change` follows every recorded batch, stream start/end and notify call: the moment to re-check state. */
export interface MockBackendEvents {
  packet: [packet: ReceivedPacket];
  stream: [info: StreamInfo];
  'stream-end': [info: StreamInfo];
  notify: [record: NotifyRecord];
  change: [];
}

type PacketStream = grpc.ServerDuplexStream<PacketBatch, PacketBatch>;
type Empty = Record<string, never>;

interface StreamState {
  readonly id: number;
  readonly gateName: string;
  readonly peer: string;
  readonly call: PacketStream;
  readonly sessions: Set<string>;
  open: boolean;
}

/** A packet to send to one session; its `sessionId` is filled in. */
export type OutboundPacket = Omit<Packet, 'sessionId'>;

export class MockBackend extends EventEmitter<MockBackendEvents> {
  /** Every packet received, in arrival order (up to `maxRecordedPackets`). */
  readonly packets: ReceivedPacket[] = [];
  /** Every NotifyConnect / NotifyDisconnect call, in arrival order. */
  readonly notifications: NotifyRecord[] = [];
  /** Open sessions: OPEN seen, no CLOSE yet, and the stream that carried them is still up. */
  readonly sessions = new Set<string>();
  /** Packets received, including those past `maxRecordedPackets`. */
  packetCount = 0;
  /** Streams opened since start. */
  streamsOpened = 0;
  mode: MockBackendMode;

  readonly #options: Readonly<MockBackendOptions>;
  readonly #server: grpc.Server;
  readonly #streams = new Map<number, StreamState>();
  readonly #sessionStreams = new Map<string, StreamState>();
  #port = 0;
  #stalled = false;
  #closing: Promise<void> | undefined;
  #destroyed = false;

  /** Use `startMockBackend()`: the constructor does not listen. */
  constructor(options: Partial<MockBackendOptions> = {}) {
    super();
    this.setMaxListeners(0);
    this.#options = validate({ ...defaults, ...options });
    this.mode = this.#options.mode;
    const serverOptions: grpc.ServerOptions = { 'grpc-node.max_session_memory': this.#options.maxSessionMemoryMiB };
    if (this.#options.flowControlWindow !== undefined) serverOptions['grpc-node.flow_control_window'] = this.#options.flowControlWindow;
    this.#server = new grpc.Server(serverOptions);
    this.#server.addService(gameGatewayService(), {
      StreamPackets: (call: PacketStream) => this.#onStream(call),
      NotifyConnect: (call: grpc.ServerUnaryCall<SessionEvent, Empty>, done: grpc.sendUnaryData<Empty>) =>
        this.#onNotify('connect', call.request, done),
      NotifyDisconnect: (call: grpc.ServerUnaryCall<SessionEvent, Empty>, done: grpc.sendUnaryData<Empty>) =>
        this.#onNotify('disconnect', call.request, done),
    });
  }

  async listen(): Promise<this> {
    const { host, port } = this.#options;
    this.#port = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      );
    });
    if (this.#options.flowControlWindow !== undefined) this.#applyFlowControlWindow(this.#options.flowControlWindow);
    return this;
  }

  get port(): number {
    return this.#port;
  }

  get endpoint(): string {
    return `${this.#options.host}:${this.#port}`;
  }

  /** Streams currently open. */
  get streams(): number {
    return this.#streams.size;
  }

  get stalled(): boolean {
    return this.#stalled;
  }

  listStreams(): StreamInfo[] {
    return [...this.#streams.values()].map(streamInfo);
  }

  /** The id of the open stream that carries `sessionId`, if any. */
  streamOf(sessionId: string): number | undefined {
    return this.#sessionStreams.get(sessionId)?.id;
  }

  /** The DATA payloads the session sent, in order (from the recorded packets). */
  payloadsOf(sessionId: string): Buffer[] {
    const out: Buffer[] = [];
    for (const p of this.packets) if (p.sessionId === sessionId && p.kind === PacketKind.DATA) out.push(p.payload);
    return out;
  }

  /**
   * Stops reading every stream (and starts new ones paused). Only grpc-js's readable buffer (16 batches per stream)
   * is taken after this; then HTTP/2 flow control pushes back on the gateway.
   */
  stall(): void {
    this.#stalled = true;
    for (const state of this.#streams.values()) state.call.pause();
  }

  resume(): void {
    this.#stalled = false;
    for (const state of this.#streams.values()) state.call.resume();
  }

  /** Writes one DATA/CLOSE/… packet to a session over the stream that carried it. Returns grpc-js's `write()` result. */
  send(sessionId: string, packet: OutboundPacket): boolean {
    const state = this.#sessionStreams.get(sessionId);
    if (state === undefined) {
      this.#assertOpen();
      throw new ActorgateError('ERR_ACTORGATE_TESTKIT_UNKNOWN_SESSION', `mock backend: no open stream carries session ${sessionId}`);
    }
    return this.#write(state, [{ ...packet, sessionId }]);
  }

  sendData(sessionId: string, msgId: number, serverId: number, payload: Uint8Array | string): boolean {
    return this.send(sessionId, { kind: PacketKind.DATA, msgId, serverId, payload: toBytes(payload) });
  }

  closeSession(sessionId: string, code: number, reason = ''): boolean {
    return this.send(sessionId, { kind: PacketKind.CLOSE, code, reason });
  }

  bindUser(sessionId: string, userId: string): boolean {
    return this.send(sessionId, { kind: PacketKind.BIND_USER, userId });
  }

  subscribe(sessionId: string, topic: string): boolean {
    return this.send(sessionId, { kind: PacketKind.SUBSCRIBE, topic });
  }

  unsubscribe(sessionId: string, topic: string): boolean {
    return this.send(sessionId, { kind: PacketKind.UNSUBSCRIBE, topic });
  }

  /** Sends DATA to every open session, one batch per stream. Returns the number of sessions addressed. */
  broadcast(msgId: number, serverId: number, payload: Uint8Array | string): number {
    this.#assertOpen();
    const bytes = toBytes(payload);
    let count = 0;
    for (const state of this.#streams.values()) {
      if (state.sessions.size === 0) continue;
      const packets: Packet[] = [];
      for (const sessionId of state.sessions) packets.push({ sessionId, kind: PacketKind.DATA, msgId, serverId, payload: bytes });
      this.#write(state, packets);
      count += packets.length;
    }
    return count;
  }

  /** Writes raw packets on one stream (e.g. a topic DATA, or a packet for a session the backend saw close). */
  write(streamId: number, packets: Packet[]): boolean {
    const state = this.#streams.get(streamId);
    if (state === undefined) {
      this.#assertOpen();
      throw new ActorgateError('ERR_ACTORGATE_TESTKIT_UNKNOWN_STREAM', `mock backend: stream ${streamId} is not open`);
    }
    return this.#write(state, packets);
  }

  /** Ends every open stream with a gRPC status (a backend failure, as the gateway sees it). */
  abortStreams(code: grpc.status = grpc.status.UNAVAILABLE, details = 'aborted by mock backend'): void {
    for (const state of [...this.#streams.values()]) {
      this.#streamEnded(state);
      // grpc-js turns an 'error' on a server stream into its final status.
      state.call.emit('error', Object.assign(new Error(details), { code, details }));
    }
  }

  /** The first recorded packet (including ones recorded before the call) that matches. */
  waitFor(predicate: (packet: ReceivedPacket) => boolean, timeoutMs: number = DEFAULT_WAIT_MS): Promise<ReceivedPacket> {
    let scanned = 0;
    return waitForEvent(
      this,
      'change',
      () => {
        for (; scanned < this.packets.length; scanned++) if (predicate(this.packets[scanned]!)) return this.packets[scanned];
        return undefined;
      },
      timeoutMs,
      () => `a matching packet (${this.#describe()})`,
    );
  }

  /** The first `count` recorded packets that match `predicate` (all packets when omitted). */
  waitForPackets(count: number, predicate: (packet: ReceivedPacket) => boolean = () => true, timeoutMs: number = DEFAULT_WAIT_MS): Promise<ReceivedPacket[]> {
    const matched: ReceivedPacket[] = [];
    let scanned = 0;
    return waitForEvent(
      this,
      'change',
      () => {
        for (; scanned < this.packets.length && matched.length < count; scanned++) {
          if (predicate(this.packets[scanned]!)) matched.push(this.packets[scanned]!);
        }
        return matched.length >= count ? matched : undefined;
      },
      timeoutMs,
      () => `${count} matching packets, matched ${matched.length} (${this.#describe()})`,
    );
  }

  /** Re-evaluates `condition` after every batch, stream change and notify call. */
  waitForCondition(condition: (backend: this) => boolean, timeoutMs: number = DEFAULT_WAIT_MS, what = 'condition'): Promise<void> {
    return waitForEvent(this, 'change', () => (condition(this) ? true : undefined), timeoutMs, () => `${what} (${this.#describe()})`).then(
      () => undefined,
    );
  }

  waitForStreams(count: number, timeoutMs: number = DEFAULT_WAIT_MS): Promise<void> {
    return this.waitForCondition((b) => b.streams >= count, timeoutMs, `${count} open streams`);
  }

  /**
   * Ends every stream (status OK), then shuts the server down, forcing it after `closeTimeoutMs`. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Drops every connection now. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#closing ??= Promise.resolve();
    for (const state of [...this.#streams.values()]) this.#streamEnded(state);
    this.#server.forceShutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(): Promise<void> {
    for (const state of [...this.#streams.values()]) {
      this.#streamEnded(state);
      if (!state.call.destroyed && !state.call.writableEnded) state.call.end();
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.destroy();
        resolve();
      }, this.#options.closeTimeoutMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        this.#destroyed = true;
        resolve();
      });
    });
  }

  #onStream(call: PacketStream): void {
    if (this.#closing !== undefined) {
      call.emit('error', Object.assign(new Error('mock backend closing'), { code: grpc.status.UNAVAILABLE, details: 'mock backend closing' }));
      return;
    }
    const gateName = String(call.metadata.get('gate-name')[0] ?? '');
    const state: StreamState = { id: this.streamsOpened++, gateName, peer: call.getPeer(), call, sessions: new Set(), open: true };
    this.#streams.set(state.id, state);
    // Paused before the 'data' listener is attached, so attaching it does not start the flow.
    if (this.#stalled) call.pause();
    call.on('data', (batch: PacketBatch) => this.#onBatch(state, batch));
    call.on('end', () => {
      this.#streamEnded(state);
      if (!call.writableEnded && !call.destroyed) call.end();
    });
    call.on('error', (err) => {
      this.#options.logger?.debug({ err, stream: state.id, gateName }, 'mock backend: stream error');
      this.#streamEnded(state);
    });
    call.on('cancelled', () => this.#streamEnded(state));
    call.on('close', () => this.#streamEnded(state));
    this.#options.logger?.debug({ stream: state.id, gateName, peer: state.peer }, 'mock backend: stream open');
    this.emit('stream', streamInfo(state));
    this.emit('change');
  }

  #onBatch(state: StreamState, batch: PacketBatch): void {
    const packets = batch.packets;
    const echo = this.mode === 'echo';
    const record = this.#options.maxRecordedPackets;
    const emitPackets = this.listenerCount('packet') > 0;
    let replies: Packet[] | undefined;
    for (let i = 0; i < packets.length; i++) {
      // Tag the decoded object in place rather than copying it: the testkit may record millions.
      const packet = packets[i] as ReceivedPacket;
      packet.stream = state.id;
      packet.gateName = state.gateName;
      this.packetCount++;
      if (this.packets.length < record) this.packets.push(packet);
      switch (packet.kind) {
        case PacketKind.OPEN:
          this.sessions.add(packet.sessionId);
          state.sessions.add(packet.sessionId);
          this.#sessionStreams.set(packet.sessionId, state);
          break;
        case PacketKind.CLOSE:
          this.sessions.delete(packet.sessionId);
          state.sessions.delete(packet.sessionId);
          if (this.#sessionStreams.get(packet.sessionId) === state) this.#sessionStreams.delete(packet.sessionId);
          break;
        case PacketKind.DATA:
          if (!this.#sessionStreams.has(packet.sessionId)) this.#sessionStreams.set(packet.sessionId, state);
          if (echo) {
            (replies ??= []).push({
              sessionId: packet.sessionId,
              kind: PacketKind.DATA,
              msgId: packet.msgId,
              serverId: packet.serverId,
              payload: packet.payload,
            });
          }
          break;
      }
      if (emitPackets) this.emit('packet', packet);
    }
    if (replies !== undefined && writable(state)) state.call.write({ packets: replies });
    this.emit('change');
  }

  #onNotify(type: 'connect' | 'disconnect', event: SessionEvent, done: grpc.sendUnaryData<Empty>): void {
    const unimplemented = this.#options.unimplementedNotify;
    const record: NotifyRecord = { type, event, answered: unimplemented ? 'unimplemented' : 'ok' };
    this.notifications.push(record);
    this.#options.logger?.debug({ type, sessionId: event.sessionId, answered: record.answered }, 'mock backend: notify');
    this.emit('notify', record);
    this.emit('change');
    if (unimplemented) done({ code: grpc.status.UNIMPLEMENTED, details: `Notify${type === 'connect' ? 'Connect' : 'Disconnect'} is not implemented` }, null);
    else done(null, {});
  }

  #write(state: StreamState, packets: Packet[]): boolean {
    if (!writable(state)) {
      throw new ClosedError(`mock backend stream ${state.id}`);
    }
    return state.call.write({ packets });
  }

  #streamEnded(state: StreamState): void {
    if (!state.open) return;
    state.open = false;
    this.#streams.delete(state.id);
    for (const sessionId of state.sessions) {
      this.sessions.delete(sessionId);
      if (this.#sessionStreams.get(sessionId) === state) this.#sessionStreams.delete(sessionId);
    }
    // A DATA-only session (no OPEN seen) may still point here.
    for (const [sessionId, owner] of this.#sessionStreams) if (owner === state) this.#sessionStreams.delete(sessionId);
    this.#options.logger?.debug({ stream: state.id, gateName: state.gateName }, 'mock backend: stream end');
    const info = streamInfo(state);
    state.sessions.clear();
    this.emit('stream-end', info);
    this.emit('change');
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new ClosedError('mock backend');
  }

  #describe(): string {
    const last = this.packets.at(-1);
    const lastText = last ? `, last: ${kindName(last.kind)} session ${last.sessionId} msgId ${last.msgId}` : '';
    return `saw ${this.packetCount} packets on ${this.streamsOpened} streams (${this.streams} open), ${this.sessions.size} open sessions${lastText}`;
  }

  /**
   * grpc-js does not apply `grpc-node.flow_control_window` to server sessions, so set it on each HTTP/2 session
   * here. The server list is grpc-js private state (pinned version); fail loudly if its shape changed.
   */
  #applyFlowControlWindow(window: number): void {
    const servers = (this.#server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
    if (!(servers instanceof Map) || servers.size === 0) {
      throw new ActorgateError('ERR_ACTORGATE_TESTKIT_FLOW_CONTROL', 'mock backend: cannot reach grpc-js http2 servers to set flowControlWindow');
    }
    for (const server of servers.keys()) {
      server.on('session', (session: ServerHttp2Session) => {
        session.settings({ initialWindowSize: window });
        session.setLocalWindowSize(window);
      });
    }
  }
}

export async function startMockBackend(options: Partial<MockBackendOptions> = {}): Promise<MockBackend> {
  return new MockBackend(options).listen();
}

function writable(state: StreamState): boolean {
  return state.open && !state.call.destroyed && !state.call.writableEnded;
}

function streamInfo(state: StreamState): StreamInfo {
  return { id: state.id, gateName: state.gateName, peer: state.peer, sessions: state.sessions.size };
}

function toBytes(payload: Uint8Array | string): Uint8Array {
  return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
}

const kindNames = new Map<number, string>(Object.entries(PacketKind).map(([name, value]) => [value, name]));

function kindName(kind: number): string {
  return kindNames.get(kind) ?? `KIND_${kind}`;
}
