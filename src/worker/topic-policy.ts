/**
 * Which topics a client may subscribe to: `topics.allow` glob patterns, where `*` matches any run of characters.
 * Compiled once at start.
 */
export class TopicPolicy {
  readonly #patterns: RegExp[];

  constructor(allow: readonly string[]) {
    this.#patterns = allow.map((glob) => new RegExp(`^${glob.split('*').map(escape).join('.*')}$`, 's'));
  }

  allows(topic: string): boolean {
    for (const pattern of this.#patterns) if (pattern.test(topic)) return true;
    return false;
  }
}

function escape(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
