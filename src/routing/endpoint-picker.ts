/**
 * Endpoint choice for a session's first message under a rule. Round-robin rotates per worker; consistent-hash uses
 * rendezvous hashing (highest random weight), so removing an endpoint moves only the keys that were on it.
 */
import type { Route } from './route-table.ts';

export interface PickKey {
  sessionId: string;
  userId: string | undefined;
}

/** FNV-1a, 32-bit: cheap, and only run once per (session, rule) binding. */
export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Mixes two hashes (murmur3 finalizer) so rendezvous weights are well spread. */
function mix(a: number, b: number): number {
  let h = (a ^ Math.imul(b, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

export class EndpointPicker {
  readonly #cursors = new Map<number, number>();
  readonly #endpointHashes = new Map<string, number>();

  /**
   * Picks one of `candidates` (the rule's endpoints, possibly narrowed to the healthy ones). Returns undefined when
   * there are none.
   */
  pick(route: Route, candidates: readonly string[], key: PickKey): string | undefined {
    if (candidates.length === 0) return undefined;
    if (route.rule.strategy === 'round-robin') {
      const cursor = this.#cursors.get(route.index) ?? 0;
      this.#cursors.set(route.index, (cursor + 1) % 0x7fffffff);
      return candidates[cursor % candidates.length];
    }
    const keyHash = fnv1a(route.rule.hashBy === 'user' && key.userId ? key.userId : key.sessionId);
    let best: string | undefined;
    let bestWeight = -1;
    for (const endpoint of candidates) {
      let endpointHash = this.#endpointHashes.get(endpoint);
      if (endpointHash === undefined) {
        endpointHash = fnv1a(endpoint);
        this.#endpointHashes.set(endpoint, endpointHash);
      }
      const weight = mix(keyHash, endpointHash);
      if (weight > bestWeight) {
        bestWeight = weight;
        best = endpoint;
      }
    }
    return best;
  }
}
