import { SqliteUploadStore } from '../../src/modules/uploads/uploads.store.sqlite';
import { tempSqlite } from '../stores/sqlite-db';
import { uploadStoreContract } from './store.contract';

uploadStoreContract('SQLite', async () => {
  const { db, close } = tempSqlite();
  return { store: new SqliteUploadStore(db), close };
});
