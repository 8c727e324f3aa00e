import type { Response } from 'supertest';
import { startTestApp, type TestApp } from '../helpers/app';
import { bearer, createGroup, joinOpen, users, type User } from './social.helpers';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

needsServers('pagination of every social list ({items, nextCursor}, ?cursor, ?limit)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ rateLimit: { registerPerMinute: 100000 } });
  });
  afterAll(async () => {
    await app.close();
  });

  /** Walks a list two at a time and returns the keys of every item in order. */
  async function walk(
    u: User,
    path: string,
    keyOf: (item: Record<string, unknown>) => string,
  ): Promise<string[]> {
    const keys: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const res: Response = await app.http
        .get(`${path}${sep}limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
        .set('Authorization', bearer(u));
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['items', 'nextCursor']);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      keys.push(...res.body.items.map(keyOf));
      cursor = res.body.nextCursor;
      if (cursor === null) return keys;
      expect(typeof cursor).toBe('string');
    }
    throw new Error('pagination did not end');
  }

  const userId = (item: Record<string, unknown>) => (item.user as { id: string }).id;

  it('friend requests, incoming newest first and outgoing', async () => {
    const [a, ...others] = await users(app, 6);
    const ids: string[] = [];
    for (const o of others) {
      const res = await app.http
        .post('/api/v1/friend-requests')
        .set('Authorization', bearer(o))
        .send({ userId: a.id });
      ids.push(res.body.id);
    }
    expect(await walk(a, '/api/v1/friend-requests?direction=incoming', (r) => r.id as string)).toEqual(
      ids.reverse(),
    );
    const [b, ...targets] = await users(app, 4);
    for (const t of targets) {
      await app.http.post('/api/v1/friend-requests').set('Authorization', bearer(b)).send({ userId: t.id });
    }
    const out = await walk(
      b,
      '/api/v1/friend-requests?direction=outgoing',
      (r) => (r.to as { id: string }).id,
    );
    expect(out.sort()).toEqual(targets.map((t) => t.id).sort());
  });

  it('blocks', async () => {
    const [a, ...others] = await users(app, 6);
    for (const o of others) await app.http.put(`/api/v1/blocks/${o.id}`).set('Authorization', bearer(a));
    expect(await walk(a, '/api/v1/blocks', (u) => u.id as string)).toEqual(others.map((o) => o.id));
  });

  it('my groups, members and join requests', async () => {
    const [owner, ...others] = await users(app, 6);
    const groups: string[] = [];
    for (let i = 0; i < 5; i++) groups.push((await createGroup(app, owner, { joinPolicy: 'open' })).id);
    expect(await walk(owner, '/api/v1/groups', (g) => g.id as string)).toEqual(groups);

    for (const o of others) await joinOpen(app, groups[0], o);
    const members = await walk(owner, `/api/v1/groups/${groups[0]}/members`, userId);
    expect(members.sort()).toEqual([owner, ...others].map((u) => u.id).sort());

    await app.http
      .patch(`/api/v1/groups/${groups[1]}`)
      .set('Authorization', bearer(owner))
      .send({ joinPolicy: 'approval' });
    const requested: string[] = [];
    for (const o of others) {
      const res = await app.http
        .post(`/api/v1/groups/${groups[1]}/join`)
        .set('Authorization', bearer(o))
        .send({});
      requested.push(res.body.id);
    }
    expect(await walk(owner, `/api/v1/groups/${groups[1]}/join-requests`, (r) => r.id as string)).toEqual(
      requested,
    );
  });

  it('defaults to 20 items and refuses a limit above 100', async () => {
    const [a, ...others] = await users(app, 22);
    for (const o of others) await app.http.put(`/api/v1/blocks/${o.id}`).set('Authorization', bearer(a));
    const first = await app.http.get('/api/v1/blocks').set('Authorization', bearer(a));
    expect(first.body.items).toHaveLength(20);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const all = await app.http.get('/api/v1/blocks?limit=100').set('Authorization', bearer(a));
    expect([all.body.items.length, all.body.nextCursor]).toEqual([21, null]);
    expect((await app.http.get('/api/v1/blocks?limit=101').set('Authorization', bearer(a))).status).toBe(400);
  });
});
