/**
 * Structure-aware client messages for the fuzz harness: mostly well-formed v1 headers carrying something wrong (a
 * length that lies, a payload over the limit, an unknown control message, a topic that is not UTF-8), plus valid
 * traffic and plain noise, so the gateway's checks after the header are reached, not only the first one.
 */
import { Control } from '../../src/protocol/control.ts';
import { HEADER_BYTES, packServerId } from '../../src/protocol/frame.ts';

/** A deterministic generator (xorshift32), so a failing run can be repeated with its seed. */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0 || 0x9e3779b9;
  }
  u32(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state;
  }
  /** Uniform in 0 … n − 1. */
  below(n: number): number {
    return this.u32() % n;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

export interface FuzzSettings {
  /** The serverType routed to the echo backend. */
  routedServerType: number;
  /** The gateway's limits.maxPayloadBytes. */
  maxPayloadBytes: number;
}

export type FuzzMessage = { binary: Uint8Array } | { text: string };

function frame(msgId: number, serverId: number, payload: Uint8Array, lengthField = payload.length): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, lengthField & 0xffff, true);
  view.setUint16(2, msgId & 0xffff, true);
  view.setUint32(4, serverId >>> 0, true);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** A topic body: valid, too long, invalid UTF-8, empty, or with a NUL. */
function topicBody(rng: Rng): Uint8Array {
  switch (rng.below(5)) {
    case 0:
      return new TextEncoder().encode(`fuzz.${rng.below(1000)}`);
    case 1:
      return new TextEncoder().encode('x'.repeat(201 + rng.below(300)));
    case 2:
      return Uint8Array.of(0x66, 0xc3, 0x28, 0xff, 0xfe);
    case 3:
      return new Uint8Array(0);
    default:
      return Uint8Array.of(0x61, 0x00, 0x62);
  }
}

/** The kinds of mutation, in the order of `KINDS`; `next` picks one by weight. */
export const KINDS = ['routed', 'no-route', 'wrong-length', 'short', 'oversized', 'control', 'topic', 'text', 'noise'] as const;
export type FuzzKind = (typeof KINDS)[number];
const WEIGHTS = [20, 10, 15, 10, 5, 15, 10, 5, 10];
const TOTAL = WEIGHTS.reduce((a, b) => a + b, 0);

export function pickKind(rng: Rng): FuzzKind {
  let roll = rng.below(TOTAL);
  for (let i = 0; i < KINDS.length; i++) {
    roll -= WEIGHTS[i]!;
    if (roll < 0) return KINDS[i]!;
  }
  return 'noise';
}

export function fuzzMessage(rng: Rng, kind: FuzzKind, settings: FuzzSettings): FuzzMessage {
  switch (kind) {
    case 'routed':
      return { binary: frame(rng.below(0x10000), packServerId({ serverType: settings.routedServerType, worldId: rng.below(4), instId: rng.below(4) }), rng.bytes(rng.below(256))) };
    case 'no-route':
      return { binary: frame(rng.below(0x10000), packServerId({ serverType: 2 + rng.below(254), isZip: rng.below(2) === 1 }), rng.bytes(rng.below(64))) };
    case 'wrong-length': {
      const payload = rng.bytes(rng.below(128));
      let length = rng.below(0x10000);
      if (length === payload.length) length++;
      return { binary: frame(rng.below(0x10000), rng.u32(), payload, length) };
    }
    case 'short':
      return { binary: rng.bytes(rng.below(HEADER_BYTES)) };
    case 'oversized':
      return { binary: frame(1, packServerId({ serverType: settings.routedServerType }), rng.bytes(settings.maxPayloadBytes + 1 + rng.below(2048))) };
    case 'control':
      return { binary: frame(rng.below(16), 0, rng.bytes(rng.below(300))) };
    case 'topic':
      return { binary: frame(rng.below(2) === 0 ? Control.SUBSCRIBE : Control.UNSUBSCRIBE, 0, topicBody(rng)) };
    case 'text':
      return { text: String.fromCharCode(...rng.bytes(rng.below(64))) };
    case 'noise':
      return { binary: rng.bytes(rng.below(96)) };
  }
}
