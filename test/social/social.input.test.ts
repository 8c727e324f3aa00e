import { startTestApp, type TestApp } from '../helpers/app';
import { bearer, befriend, createGroup, users, type User } from './social.helpers';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

needsServers('social routes never answer bad input with a 500', () => {
  let app: TestApp;
  let owner: User;
  let friend: User;
  let groupId: string;

  beforeAll(async () => {
    app = await startTestApp({ rateLimit: { registerPerMinute: 100000 } });
    [owner, friend] = await users(app, 2);
    await befriend(app, owner, friend);
    groupId = (await createGroup(app, owner, { memberIds: [friend.id] })).id;
  });
  afterAll(async () => {
    await app.close();
  });

  const routes = (): Array<[string, string]> => [
    ['post', '/api/v1/friend-requests'],
    ['post', '/api/v1/friend-requests/1/accept'],
    ['post', '/api/v1/friend-requests/1/reject'],
    ['patch', `/api/v1/friends/${friend.id}`],
    ['post', '/api/v1/groups'],
    ['patch', `/api/v1/groups/${groupId}`],
    ['post', `/api/v1/groups/${groupId}/join`],
    ['post', `/api/v1/groups/${groupId}/members`],
    ['patch', `/api/v1/groups/${groupId}/members/${friend.id}`],
    ['post', `/api/v1/groups/${groupId}/transfer`],
    ['put', `/api/v1/groups/${groupId}/mute`],
  ];

  const bodies: unknown[] = [
    [],
    [1, 2],
    'null',
    { userId: { $gt: 0 } },
    { userId: '1'.repeat(40) },
    { userIds: ['1'.repeat(40)] },
    { userIds: Array.from({ length: 101 }, (_, i) => String(i + 1)) },
    { name: 'x'.repeat(10_000) },
    { message: 'x'.repeat(50_000) },
    { remark: ['a'] },
    { nickname: { a: 1 } },
    { mutedUntil: '9999-99-99T00:00:00Z' },
    { mutedAll: 'true' },
    { maxMembers: 1e30 },
    { maxMembers: -1 },
    { joinPolicy: null },
    { role: 'owner' },
    { __proto__: { polluted: true } },
  ];

  it('answers every hostile body with a 4xx and the error envelope', async () => {
    for (const [method, path] of routes()) {
      for (const body of bodies) {
        const res = await (app.http as unknown as Record<string, (p: string) => import('supertest').Test>)
          [method](path)
          .set('Authorization', bearer(owner))
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        if (res.status >= 500 || (res.status >= 400 && !res.body?.error?.code)) {
          throw new Error(`${method} ${path} ${JSON.stringify(body).slice(0, 80)} → ${res.status}`);
        }
      }
    }
  });

  it('answers bad ids and queries with 400', async () => {
    const bad = [
      '/api/v1/groups/abc',
      '/api/v1/groups/0',
      `/api/v1/groups/${'9'.repeat(25)}`,
      `/api/v1/groups/${groupId}/members?limit=1000`,
      `/api/v1/groups/${groupId}/members?limit=-1`,
      '/api/v1/friends?all=maybe',
      '/api/v1/friend-requests?direction=sideways',
      '/api/v1/blocks?limit=abc',
      '/api/v1/groups?limit=0',
    ];
    for (const path of bad) {
      const res = await app.http.get(path).set('Authorization', bearer(owner));
      expect([path, res.status, res.body.error.code]).toEqual([path, 400, 'VALIDATION_FAILED']);
    }
  });

  it('needs a token on every social route', async () => {
    for (const [method, path] of [...routes(), ['get', '/api/v1/friends'] as [string, string]]) {
      const res = await (app.http as unknown as Record<string, (p: string) => import('supertest').Test>)
        [method](path)
        .send({});
      expect([path, res.status]).toEqual([path, 401]);
    }
  });
});
