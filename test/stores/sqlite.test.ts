import {
  closeSqlite,
  migrateSqlite,
  openSqlite,
  SQLITE_MIGRATIONS,
  SqliteSecretStore,
} from '../../src/infra/sqlite';
import { createLogger } from '../../src/shared/logger';
import { SqliteAccountsStore } from '../../src/modules/accounts/accounts.store.sqlite';
import { SqliteFederationKeyStore } from '../../src/modules/federation/federation.keys.store.sqlite';
import { accountsStoreContract } from './accounts.contract';
import { federationKeyStoreContract } from './federation-keys.contract';
import { secretStoreContract } from './secrets.contract';
import { tempSqlite } from './sqlite-db';

accountsStoreContract('SQLite', async () => {
  const { db, close } = tempSqlite();
  return {
    store: new SqliteAccountsStore(db),
    block: async (userId, blockedId) => {
      db.prepare('INSERT INTO user_blocks (user_id, blocked_id, created_at) VALUES (?, ?, ?)').run(
        userId,
        blockedId,
        Date.now(),
      );
    },
    close,
  };
});

secretStoreContract('SQLite', async () => {
  const { db, close } = tempSqlite();
  return { store: new SqliteSecretStore(db), close };
});

federationKeyStoreContract('SQLite', async () => {
  const { db, dir, close } = tempSqlite();
  return {
    store: new SqliteFederationKeyStore(db),
    second: async () => {
      const other = openSqlite(dir);
      return { store: new SqliteFederationKeyStore(other), close: async () => void other.close() };
    },
    close,
  };
});

describe('embedded database', () => {
  it('applies each migration once, keeps data across a reopen, and runs in WAL with foreign keys on', async () => {
    const { db, dir, close } = tempSqlite();
    try {
      const logger = createLogger({ level: 'silent' });
      const files = (
        db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: string }>
      ).map((r) => r.version);
      expect(files).toContain('001_accounts.sql');
      await new SqliteSecretStore(db).sharedSecret('jwt', () => 'kept');
      closeSqlite(db);
      const again = openSqlite(dir);
      try {
        expect(migrateSqlite(again, SQLITE_MIGRATIONS, logger)).toEqual([]);
        expect(again.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(again.pragma('foreign_keys', { simple: true })).toBe(1);
        expect(await new SqliteSecretStore(again).sharedSecret('jwt', () => 'new')).toBe('kept');
      } finally {
        again.close();
      }
    } finally {
      await close();
    }
  });
});
