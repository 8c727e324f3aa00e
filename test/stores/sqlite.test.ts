import { openSqlite, SqliteSecretStore } from '../../src/infra/sqlite';
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
