import { toDate, type SqliteDatabase } from '../../infra/sqlite';
import type { FederationKeyStore, NewFederationKey, StoredFederationKey } from './federation.keys.store';

interface KeyRow {
  key_id: string;
  public_key: Buffer;
  private_key: Buffer;
  created_at: number;
  expired_at: number | null;
}

function toKey(r: KeyRow): StoredFederationKey {
  return {
    keyId: r.key_id,
    publicKey: r.public_key,
    privateKey: r.private_key,
    createdAt: toDate(r.created_at),
    expiredAt: r.expired_at === null ? null : toDate(r.expired_at),
  };
}

/** Federation keys in the embedded SQLite database (`federation_keys`, one `current` slot as in MySQL). */
export class SqliteFederationKeyStore implements FederationKeyStore {
  constructor(private readonly db: SqliteDatabase) {}

  async current(): Promise<StoredFederationKey | null> {
    const r = this.db
      .prepare(
        'SELECT key_id, public_key, private_key, created_at, expired_at FROM federation_keys WHERE current = 1',
      )
      .get() as KeyRow | undefined;
    return r ? toKey(r) : null;
  }

  async offerFirst(key: NewFederationKey): Promise<void> {
    this.db
      .prepare(
        'INSERT OR IGNORE INTO federation_keys (key_id, public_key, private_key, current, created_at) VALUES (?, ?, ?, 1, ?)',
      )
      .run(key.keyId, key.publicKey, key.privateKey, Date.now());
  }

  async list(): Promise<Array<Omit<StoredFederationKey, 'privateKey'>>> {
    const rows = this.db
      .prepare(
        `SELECT key_id, public_key, created_at, expired_at FROM federation_keys
          ORDER BY current IS NULL, created_at DESC, key_id`,
      )
      .all() as Array<Omit<KeyRow, 'private_key'>>;
    return rows.map((r) => ({
      keyId: r.key_id,
      publicKey: r.public_key,
      createdAt: toDate(r.created_at),
      expiredAt: r.expired_at === null ? null : toDate(r.expired_at),
    }));
  }

  async rotate(key: NewFederationKey): Promise<void> {
    const now = Date.now();
    this.db
      .transaction(() => {
        this.db
          .prepare('UPDATE federation_keys SET current = NULL, expired_at = ? WHERE current = 1')
          .run(now);
        this.db
          .prepare(
            'INSERT INTO federation_keys (key_id, public_key, private_key, current, created_at) VALUES (?, ?, ?, 1, ?)',
          )
          .run(key.keyId, key.publicKey, key.privateKey, now);
      })
      .immediate();
  }
}
