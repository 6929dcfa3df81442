export interface PostCacheOptions {
  /** At most this many posts are kept... */
  readonly maxEntries: number;
  /** ...and at most this many characters of them: a post with 500 long comments is half a megabyte. */
  readonly maxChars: number;
}

export const DEFAULT_POST_CACHE: PostCacheOptions = { maxEntries: 10_000, maxChars: 8 * 1024 * 1024 };

/**
 * The public JSON of recently read posts, least recently used first out. The feed and the live
 * stream ask for the same few posts far more often than they change; what is not kept is read from
 * the database again, so memory is bounded by the settings, not by the blog's history.
 */
export class PostCache {
  /** A Map iterates in insertion order: re-inserting on every hit keeps the oldest first. */
  private readonly entries = new Map<string, string>();
  private chars = 0;

  constructor(private readonly options: PostCacheOptions = DEFAULT_POST_CACHE) {}

  get(id: string): string | undefined {
    const json = this.entries.get(id);
    if (json !== undefined) {
      this.entries.delete(id);
      this.entries.set(id, json);
    }
    return json;
  }

  set(id: string, json: string): void {
    this.delete(id);
    // One post over the whole bound is not kept: it would empty the cache for nothing.
    if (json.length > this.options.maxChars) return;
    this.entries.set(id, json);
    this.chars += json.length;
    for (const [oldest, text] of this.entries) {
      if (this.entries.size <= this.options.maxEntries && this.chars <= this.options.maxChars) break;
      this.entries.delete(oldest);
      this.chars -= text.length;
    }
  }

  delete(id: string): void {
    const json = this.entries.get(id);
    if (json === undefined) return;
    this.entries.delete(id);
    this.chars -= json.length;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Characters held, for the tests and the bounds. */
  get heldChars(): number {
    return this.chars;
  }
}
