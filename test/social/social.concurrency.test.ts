import { befriend, startTestApp, type TestApp } from '../helpers/app';
import { bearer, createGroup, users } from './social.helpers';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

needsServers('social graph under concurrency (two instances, one database)', () => {
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

  const count = async (sql: string, params: unknown[]) => {
    const [rows] = await app.instance.mysql.query(sql, params);
    return Number((rows as Array<{ n: number | string }>)[0].n);
  };

  it('20 concurrent joins to an open group with room for 5 end with exactly 5 new members', async () => {
    const [owner, ...joiners] = await users(app, 21);
    const g = await createGroup(app, owner, { joinPolicy: 'open', maxMembers: 6 });
    const results = await Promise.all(
      joiners.map((u, i) =>
        (i % 2 ? app2 : app).http
          .post(`/api/v1/groups/${g.id}/join`)
          .set('Authorization', bearer(u))
          .send({}),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'GROUP_FULL')).toBe(
      true,
    );
    expect(statuses.filter((s) => s !== 200 && s !== 409)).toEqual([]);
    expect(await count('SELECT COUNT(*) AS n FROM group_members WHERE group_id = ?', [g.id])).toBe(6);
    expect(await count('SELECT member_count AS n FROM chat_groups WHERE id = ?', [g.id])).toBe(6);
  });

  it('concurrent invites and joins never pass maxMembers', async () => {
    const [owner, ...others] = await users(app, 13);
    const invitees = others.slice(0, 6);
    const joiners = others.slice(6);
    for (const u of invitees) await befriend(app, owner, u);
    const g = await createGroup(app, owner, { joinPolicy: 'open', maxMembers: 5 });
    await Promise.all([
      ...invitees.map((u, i) =>
        (i % 2 ? app : app2).http
          .post(`/api/v1/groups/${g.id}/members`)
          .set('Authorization', bearer(owner))
          .send({ userIds: [u.id] }),
      ),
      ...joiners.map((u, i) =>
        (i % 2 ? app2 : app).http
          .post(`/api/v1/groups/${g.id}/join`)
          .set('Authorization', bearer(u))
          .send({}),
      ),
    ]);
    expect(await count('SELECT COUNT(*) AS n FROM group_members WHERE group_id = ?', [g.id])).toBe(5);
    expect(await count('SELECT member_count AS n FROM chat_groups WHERE id = ?', [g.id])).toBe(5);
  });

  it('two users asking each other at the same time end with exactly one friendship', async () => {
    const pairs = [];
    for (let i = 0; i < 8; i++) pairs.push(await users(app, 2));
    const results = await Promise.all(
      pairs.flatMap(([a, b]) => [
        app.http.post('/api/v1/friend-requests').set('Authorization', bearer(a)).send({ userId: b.id }),
        app2.http.post('/api/v1/friend-requests').set('Authorization', bearer(b)).send({ userId: a.id }),
      ]),
    );
    for (const r of results) expect([200, 201]).toContain(r.status);
    for (const [a, b] of pairs) {
      expect(
        await count(
          'SELECT COUNT(*) AS n FROM friendships WHERE (user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)',
          [a.id, b.id, b.id, a.id],
        ),
      ).toBe(2);
      expect(
        await count(
          `SELECT COUNT(*) AS n FROM friend_requests WHERE status = 'pending'
            AND ((from_user_id = ? AND to_user_id = ?) OR (from_user_id = ? AND to_user_id = ?))`,
          [a.id, b.id, b.id, a.id],
        ),
      ).toBe(0);
      await expect(
        app.instance.services.socialPolicy.assertCanMessageUser(a.id, b.id),
      ).resolves.toBeUndefined();
    }
  });

  it('a ban racing an approval and a rejoin never leaves the banned user in the group', async () => {
    for (let round = 0; round < 5; round++) {
      const [owner, u] = await users(app, 2);
      await befriend(app, owner, u);
      const g = await createGroup(app, owner, { joinPolicy: 'approval' });
      const request = await app.http
        .post(`/api/v1/groups/${g.id}/join`)
        .set('Authorization', bearer(u))
        .send({});
      expect(request.status).toBe(202);
      await Promise.all([
        app.http
          .delete(`/api/v1/groups/${g.id}/members/${u.id}?ban=true`)
          .set('Authorization', bearer(owner)),
        app2.http
          .post(`/api/v1/groups/${g.id}/join-requests/${request.body.id}/approve`)
          .set('Authorization', bearer(owner))
          .send({}),
        app2.http
          .post(`/api/v1/groups/${g.id}/members`)
          .set('Authorization', bearer(owner))
          .send({ userIds: [u.id] }),
      ]);
      // Whatever order they ran in, the ban has the last word.
      const member = await count(
        'SELECT COUNT(*) AS n FROM group_members WHERE group_id = ? AND user_id = ?',
        [g.id, u.id],
      );
      const banned = await count('SELECT COUNT(*) AS n FROM group_bans WHERE group_id = ? AND user_id = ?', [
        g.id,
        u.id,
      ]);
      expect({ member, banned }).toEqual({ member: 0, banned: 1 });
      expect(await count('SELECT member_count AS n FROM chat_groups WHERE id = ?', [g.id])).toBe(1);
      const rejoin = await app2.http
        .post(`/api/v1/groups/${g.id}/join`)
        .set('Authorization', bearer(u))
        .send({});
      expect(rejoin.body.error.code).toBe('BANNED');
      await expect(
        app2.instance.services.socialPolicy.assertCanSpeakInGroup(u.id, g.id),
      ).rejects.toMatchObject({
        code: 'NOT_A_MEMBER',
      });
    }
  });
});
