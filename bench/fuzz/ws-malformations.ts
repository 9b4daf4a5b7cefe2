/**
 * WebSocket-level malformations (RFC 6455 §5), each sent on its own freshly upgraded raw socket: does the gateway (its
 * uWS build) end the connection, and how fast? A connection left open after a protocol error is a finding.
 */
import { wsHandshake } from '../lib/ws-handshake.ts';

interface Case {
  name: string;
  /** The bytes sent after the upgrade. */
  bytes: Buffer;
}

/** A client frame with full control of the first byte (FIN, RSV, opcode) and the mask bit. */
function rawFrame(first: number, payload: Buffer, masked = true): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.from([first, (masked ? 0x80 : 0) | length]) : Buffer.from([first, (masked ? 0x80 : 0) | 126, length >> 8, length & 0xff]);
  return Buffer.concat([header, masked ? Buffer.alloc(4) : Buffer.alloc(0), payload]);
}

const BINARY = 0x2;
const FIN = 0x80;
const eightBytes = Buffer.alloc(8);

export const CASES: readonly Case[] = [
  { name: 'reserved opcode 0x3', bytes: rawFrame(FIN | 0x3, eightBytes) },
  { name: 'reserved control opcode 0xB', bytes: rawFrame(FIN | 0xb, Buffer.alloc(0)) },
  { name: 'unmasked client frame', bytes: rawFrame(FIN | BINARY, eightBytes, false) },
  { name: 'RSV1 set without an extension', bytes: rawFrame(FIN | 0x40 | BINARY, eightBytes) },
  { name: 'RSV2 set', bytes: rawFrame(FIN | 0x20 | BINARY, eightBytes) },
  { name: 'ping with a 126-byte payload', bytes: rawFrame(FIN | 0x9, Buffer.alloc(126)) },
  { name: 'fragmented ping (FIN clear)', bytes: rawFrame(0x9, Buffer.alloc(4)) },
  { name: 'continuation without a first fragment', bytes: rawFrame(FIN | 0x0, eightBytes) },
  { name: 'new data message inside a fragmented one (§5.4)', bytes: Buffer.concat([rawFrame(BINARY, Buffer.alloc(4)), rawFrame(FIN | BINARY, eightBytes)]) },
  { name: 'text message that is not UTF-8', bytes: rawFrame(FIN | 0x1, Buffer.from([0xc3, 0x28])) },
  { name: 'close with code 999', bytes: rawFrame(FIN | 0x8, Buffer.from([0x03, 0xe7])) },
  { name: 'close with a 1-byte body', bytes: rawFrame(FIN | 0x8, Buffer.from([0x03])) },
  { name: 'length field of 2^63', bytes: Buffer.concat([Buffer.from([FIN | BINARY, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(4)]) },
];

export interface CaseResult {
  name: string;
  /** The gateway ended the connection. */
  closed: boolean;
  /** Milliseconds until it did (or the wait, when it did not). */
  ms: number;
}

/** Sends each case on its own connection; waits up to `waitMs` for the gateway to end it. */
export async function runMalformations(host: string, port: number, protocol: string, waitMs = 2000): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const { name, bytes } of CASES) {
    const { socket } = await wsHandshake({ host, port, protocol });
    socket.on('data', () => {}); // WELCOME and any answer: read, ignored
    socket.on('error', () => {});
    const started = performance.now();
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), waitMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.write(bytes);
    });
    results.push({ name, closed, ms: Math.round(performance.now() - started) });
    socket.destroy();
  }
  return results;
}
