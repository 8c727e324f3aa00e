import { SqliteAccountsStore } from '../../src/modules/accounts/accounts.store.sqlite';
import { SqliteFriendsStore } from '../../src/modules/friends/friends.store.sqlite';
import { SqliteGroupsStore } from '../../src/modules/groups/groups.store.sqlite';
import { tempSqlite } from '../stores/sqlite-db';
import { friendsStoreContract, groupsStoreContract } from './stores.contract';

friendsStoreContract('SQLite', async () => {
  const { db, close } = tempSqlite();
  const accounts = new SqliteAccountsStore(db);
  let n = 0;
  return {
    store: new SqliteFriendsStore(db),
    newUser: async () =>
      (
        await accounts.create({
          username: `pair${++n}`,
          passwordHash: 'x',
          nickname: `pair${n}`,
          birthDate: null,
        })
      ).id,
    close,
  };
});

groupsStoreContract('SQLite', async () => {
  const { db, close } = tempSqlite();
  return { store: new SqliteGroupsStore(db), close };
});
