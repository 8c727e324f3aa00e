/**
 * Keys that live for a while and then vanish: captcha answers, token revocations, federation nonces, login
 * failure counts. Keys are logical names (`captcha:<id>`); an engine may place them under a prefix of its own.
 * A TTL is in seconds and may be fractional; engines keep at least millisecond precision.
 */
export interface ShortLivedStore {
  /** The value of `key`, or null when it is absent or expired. */
  get(key: string): Promise<string | null>;
  /** The values of `keys`, in order (null for each absent or expired one). */
  mget(keys: string[]): Promise<Array<string | null>>;
  /** Stores `value` under `key` for `ttlSeconds`, replacing any value and TTL it had. */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Stores `value` for `ttlSeconds` only when `key` is absent; true when this call stored it. */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  /** Reads and removes `key` at once: of concurrent calls, only one gets the value. */
  getDel(key: string): Promise<string | null>;
  /** Removes `key`. */
  del(key: string): Promise<void>;
  /**
   * Adds one to the counter under `key` (absent counts as 0), makes it expire `ttlSeconds` from now (each
   * increment moves the expiry), and answers the new count.
   */
  increment(key: string, ttlSeconds: number): Promise<number>;
}
