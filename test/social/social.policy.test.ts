import type { Redis } from 'ioredis';
import { befriend, startTestApp, type TestApp } from '../helpers/app';
import { bearer, createGroup, joinOpen, users } from './social.helpers';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

/** Counts the commands a Redis client sends while `work` runs; an error in `work` fails the test. */
async function commandsDuring(redis: Redis, work: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const original = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    sent.push(command.name);
    return (original as (...args: unknown[]) => unknown)(command, ...rest);
  }) as Redis['sendCommand'];
  try {
    await work();
  } finally {
    redis.sendCommand = original;
  }
  return sent;
}

needsServers('SocialPolicy (the hot-path checks messaging calls)', () => {
  let app: TestApp;
  let app2: TestApp;
  const policy = () => app.instance.services.socialPolicy;
  const policy2 = () => app2.instance.services.socialPolicy;

  beforeAll(async () => {
    app = await startTestApp({ rateLimit: { registerPerMinute: 100000 } });
    app2 = await startTestApp({}, { shareWith: app });
  });
  afterAll(async () => {
    await app2.close();
    await app.close();
  });

  describe('assertCanMessageUser', () => {
    it('refuses strangers with NOT_FRIENDS, allows friends, and NOT_FRIENDS again after a delete', async () => {
      const [a, b] = await users(app, 2);
      await expect(policy().assertCanMessageUser(a.id, b.id)).rejects.toMatchObject({
        code: 'NOT_FRIENDS',
        status: 403,
      });
      await expect(policy().assertCanMessageUser(a.id, a.id)).rejects.toMatchObject({ code: 'NOT_FRIENDS' });
      await befriend(app, a, b);
      await expect(policy().assertCanMessageUser(a.id, b.id)).resolves.toBeUndefined();
      await expect(policy2().assertCanMessageUser(b.id, a.id)).resolves.toBeUndefined();
      await app.http.delete(`/api/v1/friends/${a.id}`).set('Authorization', bearer(b));
      await expect(policy2().assertCanMessageUser(a.id, b.id)).rejects.toMatchObject({ code: 'NOT_FRIENDS' });
    });

    it('refuses the blocked side with BLOCKED while the friendship stays; the blocker may still write', async () => {
      const [a, b] = await users(app, 2);
      await befriend(app, a, b);
      await app.http.put(`/api/v1/blocks/${b.id}`).set('Authorization', bearer(a));
      await expect(policy().assertCanMessageUser(b.id, a.id)).rejects.toMatchObject({
        code: 'BLOCKED',
        status: 403,
      });
      await expect(policy().assertCanMessageUser(a.id, b.id)).resolves.toBeUndefined();
      await app.http.delete(`/api/v1/blocks/${b.id}`).set('Authorization', bearer(a));
      await expect(policy().assertCanMessageUser(b.id, a.id)).resolves.toBeUndefined();
    });

    it('a block through one instance is refused on the very next check on another instance', async () => {
      const [a, b] = await users(app, 2);
      await befriend(app, a, b);
      // Warm both instances' view first, so a stale cache would show.
      await expect(policy().assertCanMessageUser(b.id, a.id)).resolves.toBeUndefined();
      await expect(policy2().assertCanMessageUser(b.id, a.id)).resolves.toBeUndefined();
      expect((await app.http.put(`/api/v1/blocks/${b.id}`).set('Authorization', bearer(a))).status).toBe(204);
      await expect(policy2().assertCanMessageUser(b.id, a.id)).rejects.toMatchObject({ code: 'BLOCKED' });
      expect((await app2.http.delete(`/api/v1/blocks/${b.id}`).set('Authorization', bearer(a))).status).toBe(
        204,
      );
      await expect(policy().assertCanMessageUser(b.id, a.id)).resolves.toBeUndefined();
    });

    it('answers a warm check with one Redis command', async () => {
      const [a, b] = await users(app, 2);
      await befriend(app, a, b);
      await policy().assertCanMessageUser(a.id, b.id);
      const sent = await commandsDuring(app.instance.redis.command, () =>
        policy().assertCanMessageUser(a.id, b.id),
      );
      expect(sent).toHaveLength(1);
    });
  });

  describe('assertCanSpeakInGroup, groupMemberIds, groupRole', () => {
    it('CONVERSATION_NOT_FOUND for an unknown group, NOT_A_MEMBER for outsiders, members may speak', async () => {
      const [o, m, s] = await users(app, 3);
      await expect(policy().assertCanSpeakInGroup(o.id, '987654321')).rejects.toMatchObject({
        code: 'CONVERSATION_NOT_FOUND',
        status: 404,
      });
      const g = await createGroup(app, o, { joinPolicy: 'open' });
      await expect(policy().assertCanSpeakInGroup(m.id, g.id)).rejects.toMatchObject({
        code: 'NOT_A_MEMBER',
      });
      await joinOpen(app, g.id, m);
      await expect(policy2().assertCanSpeakInGroup(m.id, g.id)).resolves.toBeUndefined();
      await expect(policy().assertCanSpeakInGroup(s.id, g.id)).rejects.toMatchObject({
        code: 'NOT_A_MEMBER',
        status: 403,
      });
      expect((await policy().groupMemberIds(g.id)).sort()).toEqual([o.id, m.id].sort());
      expect(await policy().groupRole(g.id, o.id)).toBe('owner');
      expect(await policy().groupRole(g.id, m.id)).toBe('member');
      expect(await policy().groupRole(g.id, s.id)).toBeNull();
      expect(await policy().groupMemberIds('987654321')).toEqual([]);
      for (const bad of ['abc', '0', '1'.repeat(30), '']) {
        await expect(policy().assertCanSpeakInGroup(o.id, bad)).rejects.toMatchObject({
          code: 'CONVERSATION_NOT_FOUND',
        });
        expect(await policy().groupMemberIds(bad)).toEqual([]);
        expect(await policy().groupRole(bad, o.id)).toBeNull();
      }
      expect(await policy().groupRole('987654321', o.id)).toBeNull();
    });

    it('mute-all silences plain members only, never the owner or admins', async () => {
      const [o, a, m] = await users(app, 3);
      await befriend(app, o, a);
      await befriend(app, o, m);
      const g = await createGroup(app, o, { memberIds: [a.id, m.id] });
      await app.http
        .patch(`/api/v1/groups/${g.id}/members/${a.id}`)
        .set('Authorization', bearer(o))
        .send({ role: 'admin' });
      for (const u of [o, a, m]) await policy2().assertCanSpeakInGroup(u.id, g.id);
      await app.http
        .put(`/api/v1/groups/${g.id}/mute`)
        .set('Authorization', bearer(a))
        .send({ mutedAll: true });
      await expect(policy2().assertCanSpeakInGroup(m.id, g.id)).rejects.toMatchObject({
        code: 'MUTED',
        status: 403,
      });
      await expect(policy2().assertCanSpeakInGroup(a.id, g.id)).resolves.toBeUndefined();
      await expect(policy2().assertCanSpeakInGroup(o.id, g.id)).resolves.toBeUndefined();
      await app.http
        .put(`/api/v1/groups/${g.id}/mute`)
        .set('Authorization', bearer(o))
        .send({ mutedAll: false });
      await expect(policy2().assertCanSpeakInGroup(m.id, g.id)).resolves.toBeUndefined();
    });

    it('a member muted until a time cannot speak until then; a past time or null lets them speak', async () => {
      const [o, m] = await users(app, 2);
      await befriend(app, o, m);
      const g = await createGroup(app, o, { memberIds: [m.id] });
      await policy2().assertCanSpeakInGroup(m.id, g.id);
      const patch = (mutedUntil: string | null) =>
        app.http
          .patch(`/api/v1/groups/${g.id}/members/${m.id}`)
          .set('Authorization', bearer(o))
          .send({ mutedUntil });
      await patch(new Date(Date.now() + 3600_000).toISOString());
      await expect(policy2().assertCanSpeakInGroup(m.id, g.id)).rejects.toMatchObject({ code: 'MUTED' });
      await patch(new Date(Date.now() - 1000).toISOString());
      await expect(policy2().assertCanSpeakInGroup(m.id, g.id)).resolves.toBeUndefined();
      await patch(new Date(Date.now() + 3600_000).toISOString());
      await patch(null);
      await expect(policy2().assertCanSpeakInGroup(m.id, g.id)).resolves.toBeUndefined();
    });

    it('removal, roles, transfer and dissolve show on the next check on another instance', async () => {
      const [o, m, x] = await users(app, 3);
      await befriend(app, o, m);
      await befriend(app, o, x);
      const g = await createGroup(app, o, { memberIds: [m.id, x.id] });
      await policy2().assertCanSpeakInGroup(x.id, g.id);
      await app.http.delete(`/api/v1/groups/${g.id}/members/${x.id}`).set('Authorization', bearer(o));
      await expect(policy2().assertCanSpeakInGroup(x.id, g.id)).rejects.toMatchObject({
        code: 'NOT_A_MEMBER',
      });
      await app.http
        .post(`/api/v1/groups/${g.id}/transfer`)
        .set('Authorization', bearer(o))
        .send({ userId: m.id });
      expect(await policy2().groupRole(g.id, m.id)).toBe('owner');
      expect(await policy2().groupRole(g.id, o.id)).toBe('admin');
      await app.http.delete(`/api/v1/groups/${g.id}`).set('Authorization', bearer(m));
      await expect(policy2().assertCanSpeakInGroup(m.id, g.id)).rejects.toMatchObject({
        code: 'CONVERSATION_NOT_FOUND',
      });
      expect(await policy2().groupMemberIds(g.id)).toEqual([]);
    });

    it('answers a warm check with one Redis command', async () => {
      const [o] = await users(app, 1);
      const g = await createGroup(app, o);
      await policy().assertCanSpeakInGroup(o.id, g.id);
      const sent = await commandsDuring(app.instance.redis.command, () =>
        policy().assertCanSpeakInGroup(o.id, g.id),
      );
      expect(sent).toEqual(['hmget']);
    });
  });
});
