import { befriend, startTestApp, type TestApp } from '../helpers/app';
import { GroupsService } from '../../src/modules/groups/groups.service';
import type { GroupsStore } from '../../src/modules/groups/groups.store';
import { MysqlGroupsStore } from '../../src/modules/groups/groups.store.mysql';
import { MysqlFriendsStore } from '../../src/modules/friends/friends.store.mysql';
import { SocialCache } from '../../src/modules/social-graph/social-graph.cache';
import { RedisGenerationCache } from '../../src/infra/redis/generation-cache.redis';
import { bearer, createGroup, users, type User } from './social.helpers';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

needsServers('a group always has exactly one owner, and the owner is a member', () => {
  let app: TestApp;
  let app2: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ rateLimit: { registerPerMinute: 100000 }, mysql: { poolSize: 10 } });
    app2 = await startTestApp(
      { rateLimit: { registerPerMinute: 100000 }, mysql: { poolSize: 10 } },
      { shareWith: app },
    );
  });
  afterAll(async () => {
    await app2.close();
    await app.close();
  });

  /** The owner recorded on the group, and the members whose role is owner. */
  const owners = async (groupId: string) => {
    const [groups] = await app.instance.mysql.query(
      "SELECT owner_id FROM chat_groups WHERE id = ? AND status = 'active'",
      [groupId],
    );
    const [members] = await app.instance.mysql.query(
      "SELECT user_id FROM group_members WHERE group_id = ? AND role = 'owner'",
      [groupId],
    );
    return {
      ownerId: String((groups as Array<{ owner_id: string | number }>)[0].owner_id),
      ownerMembers: (members as Array<{ user_id: string | number }>).map((r) => String(r.user_id)),
    };
  };
  const expectOneOwner = async (groupId: string) => {
    const { ownerId, ownerMembers } = await owners(groupId);
    expect(ownerMembers).toEqual([ownerId]);
    return ownerId;
  };

  /** A group of `owner` with `others` as plain members. */
  const groupOf = async (owner: User, others: User[]) => {
    for (const u of others) await befriend(app, owner, u);
    const g = await createGroup(app, owner, { memberIds: others.map((u) => u.id) });
    return String(g.id);
  };

  /**
   * A groups service whose store runs `before` just before the named change: the change's own checks have
   * passed by then, so this is another request's change landing between the check and the write.
   */
  const serviceWith = (
    method: 'removeMember' | 'updateMember',
    before: (store: GroupsStore) => Promise<void>,
  ) => {
    const real = new MysqlGroupsStore(app.instance.mysql);
    const friendsStore = new MysqlFriendsStore(app.instance.mysql);
    const store = new Proxy(real, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== method || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          await before(real);
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const cache = new SocialCache(
      new RedisGenerationCache(app.instance.redis.command, app.instance.redis.keys),
      {
        pairRelation: (low, high) => friendsStore.pairRelation(low, high),
        groupSnapshot: (groupId) => real.groupSnapshot(groupId),
        blockedIds: (userId) => friendsStore.blockedIds(userId),
      },
    );
    return new GroupsService({
      store,
      accounts: app.instance.services.accounts,
      friends: app.instance.services.friends,
      cache,
      events: app.instance.events,
      limits: app.instance.config.groups,
    });
  };

  it('refuses a removal whose target became the owner after it was checked', async () => {
    const [owner, target] = await users(app, 2);
    const groupId = await groupOf(owner, [target]);
    const service = serviceWith('removeMember', async (store) => {
      expect(await store.transfer(groupId, owner.id, target.id)).toBe(true);
    });
    await expect(service.removeMember(owner.id, groupId, target.id, false)).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await expectOneOwner(groupId)).toBe(target.id);
    expect(await app.instance.services.groups.listMembers(target.id, groupId, null, 10)).toMatchObject({
      items: expect.arrayContaining([
        expect.objectContaining({ user: expect.objectContaining({ id: target.id }) }),
      ]),
    });
  });

  it('refuses a removal by an admin who was made a plain member after the check', async () => {
    const [owner, admin, member] = await users(app, 3);
    const groupId = await groupOf(owner, [admin, member]);
    await app.instance.services.groups.updateMember(owner.id, groupId, admin.id, { role: 'admin' });
    const service = serviceWith('removeMember', async (store) => {
      await store.updateMember(groupId, admin.id, { role: 'member' });
    });
    await expect(service.removeMember(admin.id, groupId, member.id, true)).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await app.instance.services.groups.listMembers(owner.id, groupId, null, 10)).toMatchObject({
      items: expect.arrayContaining([
        expect.objectContaining({ user: expect.objectContaining({ id: member.id }) }),
      ]),
    });
    expect(await new MysqlGroupsStore(app.instance.mysql).isBanned(groupId, member.id)).toBe(false);
  });

  it('refuses a leave by a member who became the owner after it was checked', async () => {
    const [owner, leaver] = await users(app, 2);
    const groupId = await groupOf(owner, [leaver]);
    const service = serviceWith('removeMember', async (store) => {
      expect(await store.transfer(groupId, owner.id, leaver.id)).toBe(true);
    });
    await expect(service.leave(leaver.id, groupId)).rejects.toMatchObject({ code: 'OWNER_CANNOT_LEAVE' });
    expect(await expectOneOwner(groupId)).toBe(leaver.id);
  });

  it('refuses a role change on a member who became the owner after it was checked', async () => {
    const [owner, target] = await users(app, 2);
    const groupId = await groupOf(owner, [target]);
    const service = serviceWith('updateMember', async (store) => {
      expect(await store.transfer(groupId, owner.id, target.id)).toBe(true);
    });
    await expect(
      service.updateMember(owner.id, groupId, target.id, { role: 'member' }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await expectOneOwner(groupId)).toBe(target.id);
  });

  it('keeps one owner who is a member when transfers race removals and leaves (two instances)', async () => {
    const rounds = 8;
    for (let round = 0; round < rounds; round++) {
      const [owner, b] = await users(app, 2);
      const groupId = await groupOf(owner, [b]);
      const [first, second] = round % 2 ? [app, app2] : [app2, app];
      const transfer = first.http
        .post(`/api/v1/groups/${groupId}/transfer`)
        .set('Authorization', bearer(owner))
        .send({ userId: b.id });
      const other =
        round < rounds / 2
          ? second.http
              .delete(`/api/v1/groups/${groupId}/members/${b.id}`)
              .set('Authorization', bearer(owner))
          : second.http.post(`/api/v1/groups/${groupId}/leave`).set('Authorization', bearer(b)).send({});
      const [t, o] = await Promise.all([transfer, other]);
      // Exactly one of the two wins, whichever came first.
      if (t.status === 200) {
        expect(o.status).toBe(round < rounds / 2 ? 403 : 409);
        expect(o.body.error.code).toBe(round < rounds / 2 ? 'FORBIDDEN' : 'OWNER_CANNOT_LEAVE');
      } else {
        expect({ transfer: t.status, code: t.body.error?.code, other: o.status }).toEqual({
          transfer: 404,
          code: 'MEMBER_NOT_FOUND',
          other: 204,
        });
      }
      const ownerId = await expectOneOwner(groupId);
      // Whoever owns it can still dissolve it.
      const ownerUser = ownerId === owner.id ? owner : b;
      expect(
        (await app.http.delete(`/api/v1/groups/${groupId}`).set('Authorization', bearer(ownerUser))).status,
      ).toBe(204);
    }
  });
});
