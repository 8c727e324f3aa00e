import path from 'node:path';
import { createMysqlPool, migrate } from '../../src/infra/mysql';
import { MysqlMessageStore } from '../../src/modules/messages/messages.store.mysql';
import { createLogger } from '../../src/shared/logger';
import { dropDatabase, isolation } from '../helpers/app';
import { messageStoreContract } from './store.contract';

messageStoreContract(
  'MySQL',
  async () => {
    const { mysqlUrl } = isolation();
    const pool = await createMysqlPool(mysqlUrl, 20);
    await migrate(pool, path.resolve(__dirname, '../../sql'), createLogger({ level: 'silent' }));
    return {
      store: new MysqlMessageStore(pool),
      second: async () => {
        const other = await createMysqlPool(mysqlUrl, 20);
        return { store: new MysqlMessageStore(other), close: () => other.end() };
      },
      close: async () => {
        await pool.end();
        await dropDatabase(mysqlUrl);
      },
    };
  },
  ['mysql'],
);
