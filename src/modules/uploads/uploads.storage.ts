import type { Readable } from 'node:stream';

/** Inclusive byte range of a blob. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where the bytes of uploads live: a port with one engine per backend (`uploads.storage.disk.ts`,
 * `uploads.storage.s3.ts`). Keys are content hashes (64 lowercase hex digits). A blob appears under its key
 * whole or not at all. Every engine passes `test/uploads/storage.contract.ts`.
 */
export interface UploadStorage {
  /** The engine's name, as `/readyz` and the logs show it. */
  readonly name: 'disk' | 's3';
  /**
   * Stores the complete local file `localPath` (of `size` bytes) under `key`, then removes the local file.
   * Storing a key that exists again leaves one blob with those bytes.
   */
  putFile(key: string, localPath: string, size: number, contentType: string): Promise<void>;
  /** The blob's bytes (only `range` when given); null when there is no such blob. */
  read(key: string, range?: ByteRange): Promise<Readable | null>;
  /** Whether a blob is stored under `key`. */
  has(key: string): Promise<boolean>;
  /** Removes the blob (no-op when missing). */
  delete(key: string): Promise<void>;
  /** Throws unless the backend answers (readiness). */
  check(): Promise<void>;
}

/** What a storage key must look like (a SHA-256 in hex). */
export const STORAGE_KEY_RE = /^[0-9a-f]{64}$/;

/** Throws on a key that is not a content hash, so no key can name a path or object outside the store. */
export function assertStorageKey(key: string): void {
  if (!STORAGE_KEY_RE.test(key)) throw new Error(`invalid storage key ${JSON.stringify(key)}`);
}
