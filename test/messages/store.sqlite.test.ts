import { openSqlite } from '../../src/infra/sqlite';
import { SqliteMessageStore } from '../../src/modules/messages/messages.store.sqlite';
import { tempSqlite } from '../stores/sqlite-db';
import { messageStoreContract } from './store.contract';

messageStoreContract('SQLite', async () => {
  const { db, dir, close } = tempSqlite();
  return {
    store: new SqliteMessageStore(db),
    second: async () => {
      const other = openSqlite(dir);
      return { store: new SqliteMessageStore(other), close: async () => void other.close() };
    },
    close,
  };
});
