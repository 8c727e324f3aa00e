/** One of this deployment's ed25519 keys as stored (raw bytes). */
export interface StoredFederationKey {
  keyId: string;
  /** Raw 32-byte public key. */
  publicKey: Buffer;
  /** Raw 32-byte private seed. */
  privateKey: Buffer;
  createdAt: Date;
  expiredAt: Date | null;
}

/** A new key to store as the current one. */
export type NewFederationKey = Pick<StoredFederationKey, 'keyId' | 'publicKey' | 'privateKey'>;

/** Storage of this deployment's signing keys: one current key, retired ones kept with their expiry. */
export interface FederationKeyStore {
  /** The current key; null when none was made yet. */
  current(): Promise<StoredFederationKey | null>;
  /**
   * Stores `key` as the current key unless there already is one (then nothing changes); safe when many
   * instances offer a first key at once: exactly one wins.
   */
  offerFirst(key: NewFederationKey): Promise<void>;
  /** Every key, current first, then retired ones newest first (then by key id); private keys left out. */
  list(): Promise<Array<Omit<StoredFederationKey, 'privateKey'>>>;
  /** In one transaction: retires the current key (expired now) and stores `key` as the current one. */
  rotate(key: NewFederationKey): Promise<void>;
}
