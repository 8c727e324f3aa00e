import type { GenerationCache } from '../../shared/generation-cache';
import type { MemoryEngineOptions } from './short-lived.memory';

/** Options of the in-process generation cache. */
export interface MemoryGenerationCacheOptions extends MemoryEngineOptions {
  /** Most entries kept, a hash counting one per field; past it the least recently used go first. */
  maxWeight?: number;
  /** Most generations remembered; past it the least recently bumped are forgotten (see `floor`). */
  maxGenerations?: number;
}

interface Entry {
  value: string | ReadonlyMap<string, string>;
  expiresAt: number;
  weight: number;
}

interface Generation {
  /** The sequence number of the last bump. */
  seq: number;
  expiresAt: number;
}

/**
 * The generation cache in this process, for a single-process deployment. Instead of a counter per key, a
 * generation is the number of the last bump of the whole cache: a fill is kept only when its key was not
 * bumped after the number it read. A forgotten generation (expired, or past `maxGenerations`) counts as
 * bumped at the highest number forgotten so far, so forgetting can refuse a fill but never keep a stale one.
 * Memory is bounded by `maxWeight` (least recently used first) and by the TTLs (swept periodically; the
 * timer does not keep the process alive).
 */
export class MemoryGenerationCache implements GenerationCache {
  private readonly entries = new Map<string, Entry>();
  private readonly generations = new Map<string, Generation>();
  private weight = 0;
  private seq = 0;
  /** The highest bump number of a generation that was forgotten. */
  private floor = 0;
  private readonly now: () => number;
  private readonly maxWeight: number;
  private readonly maxGenerations: number;
  private readonly timer: NodeJS.Timeout | null;

  constructor(options: MemoryGenerationCacheOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxWeight = options.maxWeight ?? 500_000;
    this.maxGenerations = options.maxGenerations ?? 100_000;
    const every = options.sweepIntervalMs ?? 30_000;
    this.timer = every > 0 ? setInterval(() => this.sweep(), every) : null;
    this.timer?.unref();
  }

  /** Entries held (expired ones not yet swept included) and their total weight. */
  get stats(): { entries: number; weight: number; generations: number } {
    return { entries: this.entries.size, weight: this.weight, generations: this.generations.size };
  }

  async get(keys: string[]): Promise<Array<string | null>> {
    return keys.map((k) => {
      const value = this.live(k)?.value ?? null;
      if (value !== null && typeof value !== 'string') throw new Error(`${k} holds a hash`);
      return value;
    });
  }

  async getFields(key: string, fields: string[]): Promise<Array<string | null>> {
    const hash = this.hash(key);
    return fields.map((f) => hash?.get(f) ?? null);
  }

  async getAllFields(key: string): Promise<Map<string, string>> {
    return new Map(this.hash(key) ?? []);
  }

  async generation(_genKey: string): Promise<string> {
    return String(this.seq);
  }

  async fillString(
    key: string,
    value: string,
    ttlSeconds: number,
    genKey: string,
    gen: string,
  ): Promise<boolean> {
    return this.fill(key, value, 1, ttlSeconds, genKey, gen);
  }

  async fillFields(
    key: string,
    fields: ReadonlyMap<string, string>,
    ttlSeconds: number,
    genKey: string,
    gen: string,
  ): Promise<boolean> {
    return this.fill(key, new Map(fields), Math.max(1, fields.size), ttlSeconds, genKey, gen);
  }

  async bump(genKey: string, key: string, genTtlSeconds: number): Promise<void> {
    this.generations.delete(genKey);
    this.generations.set(genKey, { seq: ++this.seq, expiresAt: this.expiry(genTtlSeconds) });
    while (this.generations.size > this.maxGenerations) {
      const [oldest, g] = this.generations.entries().next().value as [string, Generation];
      this.forget(oldest, g);
    }
    this.drop(key);
  }

  /** Drops every expired entry and generation; answers how many entries. */
  sweep(): number {
    const now = this.now();
    let dropped = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.drop(key);
        dropped++;
      }
    }
    for (const [genKey, g] of this.generations) if (g.expiresAt <= now) this.forget(genKey, g);
    return dropped;
  }

  /** Stops the periodic sweep. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private fill(
    key: string,
    value: Entry['value'],
    weight: number,
    ttlSeconds: number,
    genKey: string,
    gen: string,
  ): boolean {
    if (this.lastBump(genKey) > Number(gen)) return false;
    this.drop(key);
    this.entries.set(key, { value, weight, expiresAt: this.expiry(ttlSeconds) });
    this.weight += weight;
    for (const [oldest] of this.entries) {
      if (this.weight <= this.maxWeight) break;
      this.drop(oldest);
    }
    return true;
  }

  private lastBump(genKey: string): number {
    const g = this.generations.get(genKey);
    if (g && g.expiresAt > this.now()) return g.seq;
    if (g) this.forget(genKey, g);
    return this.floor;
  }

  private forget(genKey: string, g: Generation): void {
    this.generations.delete(genKey);
    this.floor = Math.max(this.floor, g.seq);
  }

  /** The live entry of `key`, marked as recently used; an expired one is dropped on the way. */
  private live(key: string): Entry | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= this.now()) {
      this.drop(key);
      return null;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  private hash(key: string): ReadonlyMap<string, string> | null {
    const value = this.live(key)?.value ?? null;
    if (typeof value === 'string') throw new Error(`${key} holds a string`);
    return value;
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.weight -= entry.weight;
  }

  private expiry(ttlSeconds: number): number {
    return this.now() + Math.max(1, Math.ceil(ttlSeconds * 1000));
  }
}
