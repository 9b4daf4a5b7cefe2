/**
 * Which topics a client may subscribe to: `topics.allow` glob patterns, where `*` matches any run of characters.
 * Matching is linear in the topic length (literal pieces found left to right), never a backtracking regex, so no
 * client-chosen topic can stall the worker.
 */
export class TopicPolicy {
  readonly #patterns: string[][];

  constructor(allow: readonly string[]) {
    this.#patterns = allow.map((glob) => glob.split('*'));
  }

  allows(topic: string): boolean {
    for (const pieces of this.#patterns) if (globMatch(pieces, topic)) return true;
    return false;
  }
}

/**
 * `pieces` is a glob split on `*`. The first piece must be a prefix and the last a suffix; the middle ones must occur
 * in order between them. Leftmost matching of each middle piece is optimal for `*`-only globs.
 */
export function globMatch(pieces: readonly string[], text: string): boolean {
  const first = pieces[0]!;
  if (pieces.length === 1) return text === first;
  const last = pieces[pieces.length - 1]!;
  if (text.length < first.length + last.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  let at = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!;
    const found = text.indexOf(piece, at);
    if (found === -1 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}
