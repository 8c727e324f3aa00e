import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { withTransaction, type Pool } from '../../infra/mysql';
import type { SigningKey } from './federation.signatures';

/** One of this deployment's keys as the well-known document lists it. */
export interface OwnKey {
  keyId: string;
  /** Raw 32-byte ed25519 public key, base64. */
  publicKey: string;
  createdAt: Date;
  expiredAt: Date | null;
}

interface KeyRow {
  key_id: string;
  public_key: Buffer;
  private_key: Buffer;
  created_at: Date;
  expired_at: Date | null;
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
 * This deployment's signing keys, kept in MySQL so that every instance signs with the same one. The key is
 * created at first start (concurrent starts agree on one: a unique index on the `current` slot), rotated by
 * an operator command; retired keys stay listed with their expiry so that signatures made before still verify.
 */
export class FederationKeyStore {
  private cached: { key: SigningKey; at: number } | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly options: { reloadMs?: number; now?: () => number } = {},
  ) {}

  /** Creates the first key unless one exists; safe to call from many instances at once. */
  async ensureKey(): Promise<void> {
    const [rows] = await this.pool.query('SELECT key_id FROM federation_keys WHERE current = 1');
    if ((rows as unknown[]).length) return;
    const k = newKey();
    await this.pool.query(
      'INSERT IGNORE INTO federation_keys (key_id, public_key, private_key, current) VALUES (?, ?, ?, 1)',
      [k.keyId, k.publicKey, k.seed],
    );
  }

  /** The key to sign with now; re-read from the database at most every `reloadMs` (a rotation spreads). */
  async signingKey(): Promise<SigningKey> {
    const now = (this.options.now ?? Date.now)();
    if (this.cached && now - this.cached.at < (this.options.reloadMs ?? 30_000)) return this.cached.key;
    const [rows] = await this.pool.query(
      'SELECT key_id, public_key, private_key, created_at, expired_at FROM federation_keys WHERE current = 1',
    );
    const row = (rows as KeyRow[])[0];
    if (!row) throw new Error('federation key missing: ensureKey() was not called');
    const key = { keyId: row.key_id, privateKey: privateKeyOf(row.private_key, row.public_key) };
    this.cached = { key, at: now };
    return key;
  }

  /** Every key, current first, then retired ones newest first. */
  async listKeys(): Promise<OwnKey[]> {
    const [rows] = await this.pool.query(
      `SELECT key_id, public_key, created_at, expired_at FROM federation_keys
        ORDER BY current IS NULL, created_at DESC, key_id`,
    );
    return (rows as KeyRow[]).map((r) => ({
      keyId: r.key_id,
      publicKey: r.public_key.toString('base64'),
      createdAt: r.created_at,
      expiredAt: r.expired_at,
    }));
  }

  /**
   * Retires the current key (it stays listed, expired now) and makes a new one current, in one transaction.
   * Returns the new key id.
   */
  async rotate(): Promise<string> {
    const k = newKey();
    await withTransaction(this.pool, async (conn) => {
      await conn.query(
        'UPDATE federation_keys SET current = NULL, expired_at = CURRENT_TIMESTAMP(3) WHERE current = 1',
      );
      await conn.query(
        'INSERT INTO federation_keys (key_id, public_key, private_key, current) VALUES (?, ?, ?, 1)',
        [k.keyId, k.publicKey, k.seed],
      );
    });
    this.cached = null;
    return k.keyId;
  }
}
