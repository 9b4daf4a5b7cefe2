/**
 * A minimal WebSocket client for load generation: one net.Socket, the RFC 6455 handshake, and a frame parser that
 * hands each binary message to `onMessage` as a view into the received chunk (no copy, no event, no allocation per
 * message). It answers pings and sends masked binary frames; it does not fragment, compress or verify the accept
 * key. A full client (`ws`) costs several times more CPU per message, and in a benchmark the receivers share the
 * machine with the thing being measured.
 */
import type { Socket } from 'node:net';
import { randomFillSync } from 'node:crypto';
import { OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, headerBytes, maskedHeaderBytes, payloadLength, writeMaskedHeader } from './ws-frame.ts';
import { wsHandshake, type HandshakeOptions } from './ws-handshake.ts';
import { monoMs } from './clock.ts';

export type RawWsOptions = HandshakeOptions;

/**
 * Called for every binary message: bytes `start` to `start + length` of `chunk`, valid only during the call.
 * `arrivedMs` is monoMs() when the chunk holding it was read; all messages of one read share it.
 */
export type MessageHandler = (chunk: Buffer, start: number, length: number, arrivedMs: number) => void;

export class RawWsClient {
  /** Resolves once the connection has ended (either side). */
  readonly closed: Promise<void>;
  /** Frames that were neither binary nor control (text, continuation): the gateway should send none. */
  unexpected = 0;
  readonly #socket: Socket;
  readonly #onMessage: MessageHandler;
  #rest: Buffer | undefined;
  #upgraded = false;

  private constructor(socket: Socket, onMessage: MessageHandler) {
    this.#socket = socket;
    this.#onMessage = onMessage;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Connects and completes the upgrade; rejects on a refused upgrade or a socket error. */
  static async connect(options: RawWsOptions, onMessage: MessageHandler): Promise<RawWsClient> {
    const { socket, rest } = await wsHandshake(options);
    const client = new RawWsClient(socket, onMessage);
    client.#upgraded = true;
    socket.on('data', (data: Buffer) => client.#onData(data));
    socket.on('error', () => socket.destroy());
    if (rest.length > 0) client.#onData(rest);
    return client;
  }

  /** Sends one binary message (masked, as a client must). */
  send(payload: Uint8Array): void {
    this.#sendFrame(OP_BINARY, payload);
  }

  /** Sends a close frame and ends the socket; destroys it if the gateway has not closed within `timeoutMs`. */
  close(timeoutMs = 1000): Promise<void> {
    if (!this.#socket.destroyed && this.#upgraded) {
      this.#sendFrame(OP_CLOSE, Uint8Array.of(0x03, 0xe8)); // 1000
      this.#socket.end();
    }
    const timer = setTimeout(() => this.#socket.destroy(), timeoutMs);
    return this.closed.then(() => clearTimeout(timer));
  }

  #sendFrame(opcode: number, payload: Uint8Array): void {
    if (this.#socket.destroyed) return;
    const length = payload.byteLength;
    const frame = Buffer.allocUnsafe(maskedHeaderBytes(length) + length);
    const maskAt = writeMaskedHeader(frame, opcode, length);
    randomFillSync(frame, maskAt, 4);
    for (let i = 0; i < length; i++) frame[maskAt + 4 + i] = payload[i]! ^ frame[maskAt + (i & 3)]!;
    this.#socket.write(frame);
  }

  #onData(data: Buffer): void {
    const arrivedMs = monoMs();
    let chunk = data;
    if (this.#rest !== undefined) {
      chunk = Buffer.concat([this.#rest, data]);
      this.#rest = undefined;
    }
    const size = chunk.length;
    let at = 0;
    for (;;) {
      const header = headerBytes(chunk, at, size);
      if (header === 0) break;
      const b0 = chunk[at]!;
      const length = payloadLength(chunk, at, header);
      if ((chunk[at + 1]! & 0x80) !== 0) {
        // A server must not mask its frames (RFC 6455 §5.1).
        this.#socket.destroy();
        return;
      }
      if (size - at < header + length) break;
      const start = at + header;
      const opcode = b0 & 0x0f;
      if (opcode === OP_BINARY && (b0 & 0x80) !== 0) this.#onMessage(chunk, start, length, arrivedMs);
      else if (opcode === OP_PING) this.#sendFrame(OP_PONG, chunk.subarray(start, start + length));
      else if (opcode === OP_CLOSE) {
        this.#socket.end();
        return;
      } else if (opcode !== OP_PONG) this.unexpected++;
      at = start + length;
    }
    // A partial frame: keep a copy (the chunk is not ours to hold) and finish it with the next read.
    if (at < size) this.#rest = Buffer.from(chunk.subarray(at));
  }
}
