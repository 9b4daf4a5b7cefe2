/**
 * One load-generator connection: a raw WebSocket over net.Socket that sends actorgate v1 frames from a ring of
 * preallocated buffers and parses what comes back in place. Nothing is allocated per message on either path:
 * - frames are masked with the all-zero key (RFC 6455 lets the client pick any key; a zero key makes masking a
 *   no-op, so the payload is written once into the ring and never XORed);
 * - a ring slot is rewritten only when the socket's unsent bytes prove the write that last used it has left
 *   (net.Socket queues a suffix of what was written; see `send`);
 * - received messages are read as offsets into the chunk the socket delivered.
 *
 * Payload layout (little-endian, at least PAYLOAD_MIN bytes): f64 stamp (µs on the thread's performance.now()), then
 * u32 sequence number per connection; the rest is zero. The echo comes back with the same payload.
 */
import type { Socket } from 'node:net';
import { OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, headerBytes, maskedHeaderBytes, payloadLength, writeMaskedHeader } from '../lib/ws-frame.ts';
import { wsHandshake } from '../lib/ws-handshake.ts';

export const PAYLOAD_MIN = 12;
const HEADER = 8;
/** actorgate control messages (serverType 0) this client understands: src/protocol/control.ts. */
const CONTROL_ERROR = 2;

/** What a connection reports to its thread for each message that comes back; called synchronously. */
export interface Receiver {
  /** An echo: its stamp and sequence number, and when the chunk that held it was read (µs, performance.now()). */
  onEcho(conn: LoadConnection, stampUs: number, seq: number, nowUs: number): void;
  /** An actorgate ERROR control frame (a message refused: overloaded backend, no route, ...). */
  onError(conn: LoadConnection, code: number, nowUs: number): void;
  /** Every received chunk has been handled (the socket uncorked): a pacing thread sends what came due meanwhile. */
  afterRead?(): void;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** serverId stamped on every frame (routes the message). */
  serverId: number;
  /** Subprotocol offered; none when omitted. */
  protocol?: string;
  /** Request path (a query such as `?access_token=…` included). @default '/' */
  path?: string;
}

export class LoadConnection {
  /** Index of the connection's group (routing class) within its thread. */
  readonly group: number;
  readonly serverId: number;
  /** Sent but neither echoed nor refused yet. */
  inFlight = 0;
  /** Next sequence number to send; the last one that came back. */
  nextSeq = 0;
  lastSeq = -1;
  /** The first sequence number of the current run: an echo below it is a straggler from an earlier run. */
  runFirstSeq = 0;
  closed = false;
  readonly #socket: Socket;
  readonly #receiver: Receiver;
  #ring: Buffer[] = [];
  #frameBytes = 0;
  #bodyAt = 0;
  #slot = 0;
  /** A partial frame carried over to the next read, in one buffer kept for the connection's life. */
  #carry = Buffer.allocUnsafe(0);
  #carried = 0;
  #pong: Buffer | undefined;

  private constructor(socket: Socket, options: ConnectOptions, group: number, receiver: Receiver) {
    this.#socket = socket;
    this.group = group;
    this.serverId = options.serverId;
    this.#receiver = receiver;
  }

  /**
   * Builds the ring for a run: `slots` frames of `payloadBytes`, at least the most messages this connection will have
   * unsent in its socket at once. Allocated per run, never per message.
   */
  prepare(payloadBytes: number, slots: number): void {
    if (payloadBytes < PAYLOAD_MIN) throw new RangeError(`payloadBytes must be ≥ ${PAYLOAD_MIN}`);
    const body = HEADER + payloadBytes;
    this.#bodyAt = maskedHeaderBytes(body);
    this.#frameBytes = this.#bodyAt + body;
    this.#ring = [];
    this.#slot = 0;
    for (let i = 0; i < slots; i++) {
      const frame = Buffer.alloc(this.#frameBytes); // zeroed: mask key and padding stay zero
      writeMaskedHeader(frame, OP_BINARY, body);
      frame.writeUInt16LE(payloadBytes, this.#bodyAt);
      frame.writeUInt32LE(this.serverId >>> 0, this.#bodyAt + 4);
      this.#ring.push(frame);
    }
  }

  /** Opens the TCP connection and completes the upgrade; rejects on refusal or error. */
  static async open(options: ConnectOptions, group: number, receiver: Receiver): Promise<LoadConnection> {
    const { socket, rest } = await wsHandshake(options);
    const conn = new LoadConnection(socket, options, group, receiver);
    socket.on('data', (data: Buffer) => conn.#onData(data));
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      conn.closed = true;
    });
    if (rest.length > 0) conn.#onData(rest);
    return conn;
  }

  /**
   * Sends one message stamped `stampUs`; false (nothing sent) when the socket still holds so many unsent bytes that
   * the next ring slot may be among them, i.e. this client is behind, which the caller counts.
   */
  send(stampUs: number, msgId: number): boolean {
    if (this.closed || this.#ring.length === 0) return false;
    // Unsent bytes are the newest writes; if they are fewer than (slots − 1) frames, the slot written `slots` sends
    // ago has been handed to the kernel and may be reused.
    if (this.#socket.writableLength > (this.#ring.length - 1) * this.#frameBytes) return false;
    const frame = this.#ring[this.#slot]!;
    this.#slot = this.#slot + 1 === this.#ring.length ? 0 : this.#slot + 1;
    const at = this.#bodyAt;
    frame.writeUInt16LE(msgId & 0xffff, at + 2);
    frame.writeDoubleLE(stampUs, at + HEADER);
    frame.writeUInt32LE(this.nextSeq++ >>> 0, at + HEADER + 8);
    this.#socket.write(frame);
    this.inFlight++;
    return true;
  }

  /** Holds writes until `uncork`, so a timer turn's sends on one connection leave as one write. */
  cork(): void {
    this.#socket.cork();
  }

  uncork(): void {
    this.#socket.uncork();
  }

  /** Unsent bytes queued in this connection's socket. */
  get unsentBytes(): number {
    return this.#socket.writableLength;
  }

  /** Ends the connection; destroys it if the server has not closed within `timeoutMs`. */
  close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#socket.destroy(), timeoutMs);
      this.#socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      const frame = Buffer.from([0x80 | OP_CLOSE, 0x82, 0, 0, 0, 0, 0x03, 0xe8]); // 1000, zero mask
      this.#socket.end(frame);
    });
  }

  #onData(data: Buffer): void {
    const nowUs = performance.now() * 1000;
    let chunk = data;
    let size = data.length;
    if (this.#carried > 0) {
      // Finish the carried frame in the carry buffer (grown once to the largest frame seen, never per message).
      const need = this.#carried + data.length;
      if (need > this.#carry.length) {
        const grown = Buffer.allocUnsafe(Math.max(need, 2 * this.#carry.length));
        this.#carry.copy(grown, 0, 0, this.#carried);
        this.#carry = grown;
      }
      data.copy(this.#carry, this.#carried);
      chunk = this.#carry;
      size = need;
      this.#carried = 0;
    }
    let at = 0;
    // Closed-loop replies are sent from inside the receiver: cork so one read's worth of them is one write.
    this.#socket.cork();
    for (;;) {
      const header = headerBytes(chunk, at, size);
      if (header === 0) break;
      const b0 = chunk[at]!;
      const length = payloadLength(chunk, at, header);
      if (size - at < header + length) break;
      const start = at + header;
      const opcode = b0 & 0x0f;
      if (opcode === OP_BINARY && length >= HEADER) this.#onMessage(chunk, start, length, nowUs);
      else if (opcode === OP_PING) this.#sendPong(chunk, start, length);
      else if (opcode === OP_CLOSE) {
        this.#socket.uncork();
        this.#socket.end();
        return;
      }
      at = start + length;
    }
    this.#socket.uncork();
    this.#receiver.afterRead?.();
    if (at < size) {
      // Keep the partial frame (the read's chunk is not ours to hold): move it to the front of the carry buffer.
      const rest = size - at;
      if (chunk === this.#carry) this.#carry.copyWithin(0, at, size);
      else {
        if (rest > this.#carry.length) this.#carry = Buffer.allocUnsafe(Math.max(rest, 64 * 1024));
        chunk.copy(this.#carry, 0, at, size);
      }
      this.#carried = rest;
    }
  }

  #onMessage(chunk: Buffer, start: number, length: number, nowUs: number): void {
    const serverId = chunk.readUInt32LE(start + 4);
    if (((serverId >>> 8) & 0xff) === 0) {
      // A control message: an ERROR answers one of ours; WELCOME and the rest are not load.
      if (chunk.readUInt16LE(start + 2) === CONTROL_ERROR && length >= HEADER + 2) {
        this.inFlight--;
        this.#receiver.onError(this, chunk.readUInt16LE(start + HEADER), nowUs);
      }
      return;
    }
    if (length < HEADER + PAYLOAD_MIN) return;
    const seq = chunk.readUInt32LE(start + HEADER + 8);
    if (seq < this.runFirstSeq) return; // a late echo of an earlier run: not this run's, and not in flight in it
    this.inFlight--;
    this.#receiver.onEcho(this, chunk.readDoubleLE(start + HEADER), seq, nowUs);
  }

  #sendPong(chunk: Buffer, start: number, length: number): void {
    if (length > 125) return;
    const pong = (this.#pong ??= Buffer.alloc(6 + 125));
    pong[0] = 0x80 | OP_PONG;
    pong[1] = 0x80 | length;
    chunk.copy(pong, 6, start, start + length);
    this.#socket.write(Buffer.from(pong.subarray(0, 6 + length)));
  }
}
