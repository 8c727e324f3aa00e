/**
 * Turns many concurrent single-key reads into one batched read. While a batch is being read, new keys wait
 * for the next batch, which starts when the current one ends: every caller gets a value read after it
 * asked, as a direct read would, but under load N callers cost one round trip instead of N.
 */
export class Coalescer<K, V> {
  private waiting = new Map<
    K,
    Array<{ resolve: (v: V | undefined) => void; reject: (e: unknown) => void }>
  >();
  private reading = false;

  constructor(
    private readonly load: (keys: K[]) => Promise<Map<K, V>>,
    private readonly maxKeys = 500,
  ) {}

  /** The value of `key` (undefined when the batch read has none), read after this call. */
  get(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const list = this.waiting.get(key) ?? [];
      list.push({ resolve, reject });
      this.waiting.set(key, list);
      void this.read();
    });
  }

  private async read(): Promise<void> {
    if (this.reading || this.waiting.size === 0) return;
    this.reading = true;
    const batch = new Map<K, Array<{ resolve: (v: V | undefined) => void; reject: (e: unknown) => void }>>();
    for (const [key, list] of this.waiting) {
      if (batch.size >= this.maxKeys) break;
      batch.set(key, list);
    }
    for (const key of batch.keys()) this.waiting.delete(key);
    try {
      const values = await this.load([...batch.keys()]);
      for (const [key, list] of batch) for (const w of list) w.resolve(values.get(key));
    } catch (err) {
      for (const list of batch.values()) for (const w of list) w.reject(err);
    } finally {
      this.reading = false;
      void this.read();
    }
  }
}
