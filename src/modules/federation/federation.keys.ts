import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import type { FederationKeyStore } from './federation.keys.store';
import type { SigningKey } from './federation.signatures';

/** One of this deployment's keys as the well-known document lists it. */
export interface OwnKey {
  keyId: string;
  /** Raw 32-byte ed25519 public key, base64. */
  publicKey: string;
  createdAt: Date;
  expiredAt: Date | null;
}

const b64url = (buf: Buffer): string => buf.toString('base64url');

/** A fresh ed25519 key id and pair, as raw bytes. */
function newKey(): { keyId: string; publicKey: Buffer; seed: Buffer } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    keyId: `ed25519:${randomBytes(6).toString('base64url')}`,
    publicKey: Buffer.from(jwk.x as string, 'base64url'),
    seed: Buffer.from(jwk.d as string, 'base64url'),
  };
}

/** The private key object of a raw seed and public key. */
export function privateKeyOf(seed: Buffer, publicKey: Buffer): KeyObject {
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(publicKey) },
    format: 'jwk',
  });
}

/** The public key object of a raw 32-byte ed25519 key. */
export function publicKeyOf(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' });
}

/**
 * This deployment's signing keys, kept in a `FederationKeyStore` so that every instance signs with the same
 * one. The key is created at first start (concurrent starts agree on one), rotated by an operator command;
 * retired keys stay listed with their expiry so that signatures made before still verify.
 */
export class FederationKeys {
  private cached: { key: SigningKey; at: number } | null = null;

  constructor(
    private readonly store: FederationKeyStore,
    private readonly options: { reloadMs?: number; now?: () => number } = {},
  ) {}

  /** Creates the first key unless one exists; safe to call from many instances at once. */
  async ensureKey(): Promise<void> {
    if (await this.store.current()) return;
    const k = newKey();
    await this.store.offerFirst({ keyId: k.keyId, publicKey: k.publicKey, privateKey: k.seed });
  }

  /** The key to sign with now; re-read from the store at most every `reloadMs` (a rotation spreads). */
  async signingKey(): Promise<SigningKey> {
    const now = (this.options.now ?? Date.now)();
    if (this.cached && now - this.cached.at < (this.options.reloadMs ?? 30_000)) return this.cached.key;
    const current = await this.store.current();
    if (!current) throw new Error('federation key missing: ensureKey() was not called');
    const key = { keyId: current.keyId, privateKey: privateKeyOf(current.privateKey, current.publicKey) };
    this.cached = { key, at: now };
    return key;
  }

  /** Every key, current first, then retired ones newest first. */
  async listKeys(): Promise<OwnKey[]> {
    return (await this.store.list()).map((k) => ({
      keyId: k.keyId,
      publicKey: k.publicKey.toString('base64'),
      createdAt: k.createdAt,
      expiredAt: k.expiredAt,
    }));
  }

  /**
   * Retires the current key (it stays listed, expired now) and makes a new one current, in one transaction.
   * Returns the new key id.
   */
  async rotate(): Promise<string> {
    const k = newKey();
    await this.store.rotate({ keyId: k.keyId, publicKey: k.publicKey, privateKey: k.seed });
    this.cached = null;
    return k.keyId;
  }
}
