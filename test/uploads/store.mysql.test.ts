import path from 'node:path';
import { createMysqlPool, migrate } from '../../src/infra/mysql';
import { MysqlUploadStore } from '../../src/modules/uploads/uploads.store.mysql';
import { createLogger } from '../../src/shared/logger';
import { dropDatabase, isolation } from '../helpers/app';
import { uploadStoreContract } from './store.contract';

uploadStoreContract(
  'MySQL',
  async () => {
    const { mysqlUrl } = isolation();
    const pool = await createMysqlPool(mysqlUrl, 5);
    await migrate(pool, path.resolve(__dirname, '../../sql'), createLogger({ level: 'silent' }));
    return {
      store: new MysqlUploadStore(pool),
      close: async () => {
        await pool.end();
        await dropDatabase(mysqlUrl);
      },
    };
  },
  ['mysql'],
);
