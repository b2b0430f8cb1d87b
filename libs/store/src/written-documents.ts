import type { AnyAggregate } from './aggregate';

/**
 * The serialised documents this adapter itself wrote, so reading one back can
 * skip the schema check: a text produced by serialising a document the schema
 * had just accepted is accepted again (aggregate schemas are plain JSON
 * without transforms), and parsing it yields the same document.
 *
 * A read is trusted only when its stored text equals the remembered text
 * exactly; anything else (another process's write, a hand edit, a migration)
 * is checked as before. A write that rolls back leaves a remembered text the
 * row does not hold, which the comparison then rejects. Texts are kept per
 * aggregate and id, newest last, within a budget of characters.
 */
export class WrittenDocuments {
  private readonly texts = new Map<string, string>();
  private chars = 0;

  /** `maxChars`: the total length of the texts kept. */
  constructor(private readonly maxChars = 1_000_000) {}

  remember(aggregate: AnyAggregate, id: string, text: string): void {
    const key = keyOf(aggregate, id);
    this.forget(key);
    if (text.length > this.maxChars / 16) return; // one huge document must not evict the rest
    this.texts.set(key, text);
    this.chars += text.length;
    for (const [oldest, kept] of this.texts) {
      if (this.chars <= this.maxChars) break;
      this.texts.delete(oldest);
      this.chars -= kept.length;
    }
  }

  /** True when `text` is exactly what this adapter last wrote for the document. */
  wrote(aggregate: AnyAggregate, id: string, text: string): boolean {
    return this.texts.get(keyOf(aggregate, id)) === text;
  }

  delete(aggregate: AnyAggregate, id: string): void {
    this.forget(keyOf(aggregate, id));
  }

  get size(): number {
    return this.texts.size;
  }

  private forget(key: string): void {
    const kept = this.texts.get(key);
    if (kept === undefined) return;
    this.texts.delete(key);
    this.chars -= kept.length;
  }
}

// Aggregate names cannot hold a NUL, so the key is unambiguous.
function keyOf(aggregate: AnyAggregate, id: string): string {
  return `${aggregate.name}\u0000${id}`;
}
