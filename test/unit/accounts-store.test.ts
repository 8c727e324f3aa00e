import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMysqlPool, migrate, type Pool } from '../../src/infra/mysql';
import { createLogger } from '../../src/shared/logger';
import { AppError } from '../../src/shared/errors';
import type { AccountsStore, NewUser } from '../../src/modules/accounts/accounts.store';
import { MysqlAccountsStore } from '../../src/modules/accounts/accounts.store.mysql';
import { dropDatabase, isolation } from '../helpers/app';
import { describeWith, type Server } from '../helpers/servers';

/** The contract every AccountsStore implementation must meet. */
function accountsStoreContract(
  name: string,
  open: () => Promise<{
    store: AccountsStore;
    /** Stores that `userId` blocks `blockedId` (the friends module's job in the service). */
    block: (userId: string, blockedId: string) => Promise<void>;
    close: () => Promise<void>;
  }>,
  needs: Server[] = [],
) {
  describeWith(...needs)(`AccountsStore contract: ${name}`, () => {
    let store: AccountsStore;
    let block: (userId: string, blockedId: string) => Promise<void>;
    let close: () => Promise<void>;
    let n = 0;
    const user = (fields: Partial<NewUser> = {}): NewUser => ({
      username: `user${++n}`,
      passwordHash: 'scrypt$1$1$1$salt$key',
      nickname: `Nick ${n}`,
      birthDate: null,
      ...fields,
    });

    beforeAll(async () => {
      ({ store, block, close } = await open());
    });
    afterAll(async () => {
      await close();
    });

    it('creates a user with string id, defaults and nulls', async () => {
      const u = await store.create(user({ username: 'Alice', nickname: 'Alice A', birthDate: '1990-05-17' }));
      expect(u).toMatchObject({
        id: expect.stringMatching(/^\d+$/),
        username: 'Alice',
        domain: '',
        nickname: 'Alice A',
        avatar: null,
        birthDate: '1990-05-17',
        presence: 'online',
        status: 'active',
        role: 'user',
      });
      expect(u.createdAt).toBeInstanceOf(Date);
      expect(await store.findById(u.id)).toEqual(u);
    });

    it('throws USERNAME_TAKEN for a username that exists in any letter case', async () => {
      await store.create(user({ username: 'Bob' }));
      for (const username of ['Bob', 'BOB', 'bob']) {
        const err = await store.create(user({ username })).catch((e) => e);
        expect(err).toBeInstanceOf(AppError);
        expect(err).toMatchObject({ code: 'USERNAME_TAKEN', status: 409 });
      }
    });

    it('finds by username ignoring case, and returns null for unknown users and ids', async () => {
      const u = await store.create(user({ username: 'Carol' }));
      expect((await store.findByUsername('cAROL'))?.id).toBe(u.id);
      expect(await store.findByUsername('nobody')).toBeNull();
      expect(await store.findById('999999999')).toBeNull();
    });

    it('finds several by id, skipping unknown ones', async () => {
      const a = await store.create(user());
      const b = await store.create(user());
      const found = await store.findByIds([a.id, b.id, '999999999']);
      expect(found.map((u) => u.id).sort()).toEqual([a.id, b.id].sort());
      expect(await store.findByIds([])).toEqual([]);
    });

    it('updates only the given profile fields; null clears', async () => {
      const u = await store.create(user({ birthDate: '2000-01-01' }));
      const changed = await store.updateProfile(u.id, { avatar: 'https://x.test/a.png', presence: 'busy' });
      expect(changed).toMatchObject({
        nickname: u.nickname,
        avatar: 'https://x.test/a.png',
        birthDate: '2000-01-01',
        presence: 'busy',
      });
      const cleared = await store.updateProfile(u.id, { avatar: null, birthDate: null });
      expect(cleared).toMatchObject({ avatar: null, birthDate: null, presence: 'busy' });
      expect(await store.updateProfile('999999999', { nickname: 'x' })).toBeNull();
    });

    it('replaces the password hash, status and role', async () => {
      const u = await store.create(user());
      await store.updatePassword(u.id, 'scrypt$2$2$2$new$hash');
      await store.setStatus(u.id, 'disabled');
      await store.setRole(u.id, 'admin');
      expect(await store.findById(u.id)).toMatchObject({
        passwordHash: 'scrypt$2$2$2$new$hash',
        status: 'disabled',
        role: 'admin',
      });
    });

    describe('searchByNickname', () => {
      const ids = async (...args: Parameters<AccountsStore['searchByNickname']>) =>
        (await store.searchByNickname(...args)).map((u) => u.nickname);

      beforeAll(async () => {
        for (const nickname of ['zeta b', 'zeta a', 'Zeta c', 'zeta%', 'zeta_', 'zetax', 'zet']) {
          await store.create(user({ nickname }));
        }
        const hidden = await store.create(user({ nickname: 'zeta hidden' }));
        await store.setStatus(hidden.id, 'deleted');
      });

      it('matches the prefix ignoring case, in collation order, only active users', async () => {
        const found = await ids('zeta', null, null, 50);
        expect([...found].sort()).toEqual(['Zeta c', 'zeta a', 'zeta b', 'zeta%', 'zeta_', 'zetax'].sort());
        const letters = found.filter((nick) => / [abc]$/.test(nick));
        expect(letters).toEqual(['zeta a', 'zeta b', 'Zeta c']);
      });

      it('matches % and _ literally', async () => {
        expect(await ids('zeta%', null, null, 50)).toEqual(['zeta%']);
        expect(await ids('zeta_', null, null, 50)).toEqual(['zeta_']);
        expect(await ids('%', null, null, 50)).toEqual([]);
      });

      it('continues after a position and honours the limit', async () => {
        const all = await store.searchByNickname('zeta', null, null, 50);
        const after = { nickname: all[1].nickname, id: all[1].id };
        expect(await ids('zeta', after, null, 2)).toEqual(all.slice(2, 4).map((u) => u.nickname));
      });

      it('leaves out, for a viewer, the users who block the viewer (not the ones the viewer blocks)', async () => {
        const all = await store.searchByNickname('zeta', null, null, 50);
        const viewer = await store.create(user({ nickname: 'viewer' }));
        await block(all[0].id, viewer.id);
        await block(viewer.id, all[1].id);
        await block(all[2].id, all[3].id);
        const seen = await store.searchByNickname('zeta', null, null, 50, viewer.id);
        expect(seen.map((u) => u.id)).toEqual(all.slice(1).map((u) => u.id));
        const page = await store.searchByNickname('zeta', null, null, 2, viewer.id);
        expect(page.map((u) => u.id)).toEqual(all.slice(1, 3).map((u) => u.id));
      });

      it('leaves out the excluded id', async () => {
        const all = await store.searchByNickname('zeta', null, null, 50);
        const rest = await store.searchByNickname('zeta', null, all[0].id, 50);
        expect(rest.map((u) => u.id)).toEqual(all.slice(1).map((u) => u.id));
      });
    });
  });
}

accountsStoreContract(
  'MySQL',
  async () => {
    const url = isolation().mysqlUrl;
    const pool: Pool = await createMysqlPool(url, 2);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-sql-'));
    for (const file of ['001_accounts.sql', '010_friends.sql']) {
      fs.copyFileSync(path.resolve(__dirname, '../../sql', file), path.join(dir, file));
    }
    await migrate(pool, dir, createLogger({ level: 'silent' }));
    fs.rmSync(dir, { recursive: true, force: true });
    return {
      store: new MysqlAccountsStore(pool),
      block: async (userId, blockedId) => {
        await pool.query('INSERT INTO user_blocks (user_id, blocked_id) VALUES (?, ?)', [userId, blockedId]);
      },
      close: async () => {
        await pool.end();
        await dropDatabase(url);
      },
    };
  },
  ['mysql'],
);
