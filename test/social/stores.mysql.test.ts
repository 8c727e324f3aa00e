import { MysqlFriendsStore } from '../../src/modules/friends/friends.store.mysql';
import { MysqlGroupsStore } from '../../src/modules/groups/groups.store.mysql';
import { startTestApp } from '../helpers/app';
import { friendsStoreContract, groupsStoreContract } from './stores.contract';

friendsStoreContract(
  'MySQL',
  async () => {
    const app = await startTestApp();
    return { store: new MysqlFriendsStore(app.instance.mysql), close: () => app.close() };
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
