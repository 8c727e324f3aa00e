import path from 'node:path';
import { createMysqlPool, migrate, MysqlSecretStore, type Pool } from '../../src/infra/mysql';
import { MysqlAccountsStore } from '../../src/modules/accounts/accounts.store.mysql';
import { MysqlFederationKeyStore } from '../../src/modules/federation/federation.keys.store.mysql';
import { createLogger } from '../../src/shared/logger';
import { describeWith } from '../helpers/servers';
import { dropDatabase, isolation } from '../helpers/app';
import { accountsStoreContract } from './accounts.contract';
import { federationKeyStoreContract } from './federation-keys.contract';
import { secretStoreContract } from './secrets.contract';

/** A pool on a fresh database with every migration of `sql/` applied, and how to drop it. */
async function freshDatabase(): Promise<{ pool: Pool; url: string; close: () => Promise<void> }> {
  const url = isolation().mysqlUrl;
  const pool = await createMysqlPool(url, 4);
  await migrate(pool, path.resolve(__dirname, '../../sql'), createLogger({ level: 'silent' }));
  return {
    pool,
    url,
    close: async () => {
      await pool.end();
      await dropDatabase(url);
    },
  };
}

describeWith('mysql')('MySQL engines', () => {
  accountsStoreContract('MySQL', async () => {
    const { pool, close } = await freshDatabase();
    return {
      store: new MysqlAccountsStore(pool),
      block: async (userId, blockedId) => {
        await pool.query('INSERT INTO user_blocks (user_id, blocked_id) VALUES (?, ?)', [userId, blockedId]);
      },
      close,
    };
  });

  secretStoreContract('MySQL', async () => {
    const { pool, close } = await freshDatabase();
    return { store: new MysqlSecretStore(pool), close };
  });

  federationKeyStoreContract('MySQL', async () => {
    const { pool, url, close } = await freshDatabase();
    return {
      store: new MysqlFederationKeyStore(pool),
      second: async () => {
        const other = await createMysqlPool(url, 2);
        return { store: new MysqlFederationKeyStore(other), close: () => other.end() };
      },
      close,
    };
  });
});
