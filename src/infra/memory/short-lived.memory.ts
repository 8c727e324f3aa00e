import type { ShortLivedStore } from '../../shared/short-lived';

/** Options of the in-process engines. */
export interface MemoryEngineOptions {
  /** The clock, in milliseconds (tests move it on by hand). */
  now?: () => number;
  /** How often expired entries are swept out; 0 sweeps only when `sweep()` is called. */
  sweepIntervalMs?: number;
}

interface Entry {
  value: string;
  expiresAt: number;
}

/**
 * Short-lived keys in this process, for a single-process deployment. Every operation runs to completion
 * before another starts, so `setIfAbsent`, `getDel` and `increment` are atomic. Expired entries are never
 * answered and are swept out periodically (the timer does not keep the process alive), so memory holds only
 * what is still alive. Nothing alive is evicted: a dropped revocation or nonce would be a hole.
 */
export class MemoryShortLivedStore implements ShortLivedStore {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout | null;

  constructor(options: MemoryEngineOptions = {}) {
    this.now = options.now ?? Date.now;
    const every = options.sweepIntervalMs ?? 30_000;
    this.timer = every > 0 ? setInterval(() => this.sweep(), every) : null;
    this.timer?.unref();
  }

  /** Entries held, expired ones not yet swept included. */
  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<string | null> {
    return this.live(key)?.value ?? null;
  }

  async mget(keys: string[]): Promise<Array<string | null>> {
    return keys.map((k) => this.live(k)?.value ?? null);
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: this.expiry(ttlSeconds) });
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    if (this.live(key)) return false;
    this.entries.set(key, { value, expiresAt: this.expiry(ttlSeconds) });
    return true;
  }

  async getDel(key: string): Promise<string | null> {
    const entry = this.live(key);
    if (!entry) return null;
    this.entries.delete(key);
    return entry.value;
  }

  async del(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async increment(key: string, ttlSeconds: number): Promise<number> {
    const current = this.live(key);
    const count = current ? Number(current.value) + 1 : 1;
    if (!Number.isSafeInteger(count)) throw new Error(`value of ${key} is not an integer`);
    this.entries.set(key, { value: String(count), expiresAt: this.expiry(ttlSeconds) });
    return count;
  }

  /** Drops every expired entry; answers how many. */
  sweep(): number {
    const now = this.now();
    let dropped = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.entries.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  /** Stops the periodic sweep. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The entry of `key` unless it expired (an expired one is dropped on the way). */
  private live(key: string): Entry | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt > this.now()) return entry;
    this.entries.delete(key);
    return null;
  }

  private expiry(ttlSeconds: number): number {
    return this.now() + Math.max(1, Math.ceil(ttlSeconds * 1000));
  }
}
