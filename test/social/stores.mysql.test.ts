import { MysqlFriendsStore } from '../../src/modules/friends/friends.store.mysql';
import { MysqlGroupsStore } from '../../src/modules/groups/groups.store.mysql';
import { startTestApp } from '../helpers/app';
import { friendsStoreContract, groupsStoreContract } from './stores.contract';

friendsStoreContract(
  'MySQL',
  async () => {
    const app = await startTestApp();
    let n = 0;
    return {
      store: new MysqlFriendsStore(app.instance.mysql),
      newUser: async () => {
        const [res] = await app.instance.mysql.query('INSERT INTO users (username, nickname) VALUES (?, ?)', [
          `pair${++n}`,
          `pair${n}`,
        ]);
        return String((res as { insertId: number }).insertId);
      },
      close: () => app.close(),
    };
  },
  ['mysql', 'redis'],
);

groupsStoreContract(
  'MySQL',
  async () => {
    const app = await startTestApp();
    return { store: new MysqlGroupsStore(app.instance.mysql), close: () => app.close() };
  },
  ['mysql', 'redis'],
);
