/**
 * A real grpc-js `GameGateway` backend for tests: it records what the gateway sends, answers (echo), pushes to
 * sessions, and can stop reading its streams so the gateway's HTTP/2 flow-control window fills (a slow backend).
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { gameGatewayService, PacketKind } from '../backend/proto.ts';
import type { Packet, PacketBatch, SessionEvent } from '../backend/proto.ts';
import { ActorgateError, ClosedError } from '../core/errors.ts';
import { applyFlowControlWindow } from './mock-backend-flow-control.ts';
import type { MockBackendEvents, NotifyRecord, ReceivedPacket, StreamInfo } from './mock-backend-events.ts';
import { defaultMockBackendOptions, validateMockBackendOptions } from './mock-backend-options.ts';
import type { MockBackendMode, MockBackendOptions } from './mock-backend-options.ts';
import { streamInfo, writable } from './mock-backend-stream.ts';
import type { PacketStream, StreamState } from './mock-backend-stream.ts';
import { DEFAULT_WAIT_MS, waitForEvent } from './wait.ts';

export type { MockBackendEvents, NotifyRecord, ReceivedPacket, StreamInfo } from './mock-backend-events.ts';
export type { MockBackendMode, MockBackendOptions } from './mock-backend-options.ts';

type Empty = Record<string, never>;

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
    this.#options = validateMockBackendOptions({ ...defaultMockBackendOptions, ...options });
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
    if (this.#options.flowControlWindow !== undefined) applyFlowControlWindow(this.#server, this.#options.flowControlWindow);
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
}

export async function startMockBackend(options: Partial<MockBackendOptions> = {}): Promise<MockBackend> {
  return new MockBackend(options).listen();
}

function toBytes(payload: Uint8Array | string): Uint8Array {
  return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
}

const kindNames = new Map<number, string>(Object.entries(PacketKind).map(([name, value]) => [value, name]));

function kindName(kind: number): string {
  return kindNames.get(kind) ?? `KIND_${kind}`;
}
