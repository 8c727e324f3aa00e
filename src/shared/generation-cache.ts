/**
 * A cache whose entries are filled from a source of truth and invalidated by bumping a generation: a fill
 * is stored only if its generation was not bumped since it was read, so data read before a committed change
 * is never kept after that change was invalidated. Entries are strings or hashes of string fields; keys
 * are logical names (`social:pair:1:2`) that an engine may place under a prefix of its own. Entries expire
 * after the TTL given when they are filled; an engine may drop them sooner (a bound on memory).
 */
export interface GenerationCache {
  /** The string entries under `keys`, in order (null for each miss). */
  get(keys: string[]): Promise<Array<string | null>>;
  /** The `fields` of the hash entry `key`, in order (null for each missing field; all null on a miss). */
  getFields(key: string, fields: string[]): Promise<Array<string | null>>;
  /** Every field of the hash entry `key` (empty on a miss). */
  getAllFields(key: string): Promise<Map<string, string>>;
  /** The current generation of `genKey`, to read before querying the source and hand to a fill. */
  generation(genKey: string): Promise<string>;
  /** Stores the string `value` under `key` for `ttlSeconds` unless `genKey` moved past `gen`; true when stored. */
  fillString(key: string, value: string, ttlSeconds: number, genKey: string, gen: string): Promise<boolean>;
  /** Replaces the hash entry `key` with `fields` for `ttlSeconds` unless `genKey` moved past `gen`. */
  fillFields(
    key: string,
    fields: ReadonlyMap<string, string>,
    ttlSeconds: number,
    genKey: string,
    gen: string,
  ): Promise<boolean>;
  /** Moves `genKey` on (remembered for at least `genTtlSeconds`) and deletes the entry `key`, at once. */
  bump(genKey: string, key: string, genTtlSeconds: number): Promise<void>;
}
