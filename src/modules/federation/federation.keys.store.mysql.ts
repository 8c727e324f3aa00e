import { withTransaction, type Pool } from '../../infra/mysql';
import type { FederationKeyStore, NewFederationKey, StoredFederationKey } from './federation.keys.store';

interface KeyRow {
  key_id: string;
  public_key: Buffer;
  private_key: Buffer;
  created_at: Date;
  expired_at: Date | null;
}

/**
 * Federation keys in MySQL (`federation_keys`). A unique index on the `current` slot (1, or NULL for
 * retired keys) lets concurrent first starts race safely: INSERT IGNORE, then everyone reads the winner.
 */
export class MysqlFederationKeyStore implements FederationKeyStore {
  constructor(private readonly pool: Pool) {}

  async current(): Promise<StoredFederationKey | null> {
    const [rows] = await this.pool.query(
      'SELECT key_id, public_key, private_key, created_at, expired_at FROM federation_keys WHERE current = 1',
    );
    const r = (rows as KeyRow[])[0];
    return r
      ? {
          keyId: r.key_id,
          publicKey: r.public_key,
          privateKey: r.private_key,
          createdAt: r.created_at,
          expiredAt: r.expired_at,
        }
      : null;
  }

  async offerFirst(key: NewFederationKey): Promise<void> {
    await this.pool.query(
      'INSERT IGNORE INTO federation_keys (key_id, public_key, private_key, current) VALUES (?, ?, ?, 1)',
      [key.keyId, key.publicKey, key.privateKey],
    );
  }

  async list(): Promise<Array<Omit<StoredFederationKey, 'privateKey'>>> {
    const [rows] = await this.pool.query(
      `SELECT key_id, public_key, created_at, expired_at FROM federation_keys
        ORDER BY current IS NULL, created_at DESC, key_id`,
    );
    return (rows as KeyRow[]).map((r) => ({
      keyId: r.key_id,
      publicKey: r.public_key,
      createdAt: r.created_at,
      expiredAt: r.expired_at,
    }));
  }

  async rotate(key: NewFederationKey): Promise<void> {
    await withTransaction(this.pool, async (conn) => {
      await conn.query(
        'UPDATE federation_keys SET current = NULL, expired_at = CURRENT_TIMESTAMP(3) WHERE current = 1',
      );
      await conn.query(
        'INSERT INTO federation_keys (key_id, public_key, private_key, current) VALUES (?, ?, ?, 1)',
        [key.keyId, key.publicKey, key.privateKey],
      );
    });
  }
}
