import { befriend, startTestApp, type TestApp } from '../helpers/app';
import { bearer, createGroup, users, type User } from './social.helpers';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

needsServers('social routes answer bad input with 400 and leave the state alone', () => {
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

  // Raw JSON text, so that keys such as `__proto__` really reach the server (an object literal would drop it).
  const bodies: string[] = [
    '[]',
    '[1,2]',
    '"null"',
    '{"userId":{"$gt":0}}',
    JSON.stringify({ userId: '1'.repeat(40) }),
    JSON.stringify({ userIds: ['1'.repeat(40)] }),
    JSON.stringify({ userIds: Array.from({ length: 101 }, (_, i) => String(i + 1)) }),
    JSON.stringify({ name: 'x'.repeat(10_000) }),
    JSON.stringify({ message: 'x'.repeat(50_000) }),
    '{"remark":["a"]}',
    '{"nickname":{"a":1}}',
    '{"mutedUntil":"9999-99-99T00:00:00Z"}',
    '{"mutedAll":"true"}',
    '{"maxMembers":1e30}',
    '{"maxMembers":-1}',
    '{"joinPolicy":null}',
    '{"role":"owner"}',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
  ];

  it('answers every hostile body with 400 VALIDATION_FAILED and changes nothing', async () => {
    const before = await socialState();
    const wrong: string[] = [];
    for (const [method, path] of routes()) {
      for (const body of bodies) {
        const res = await (app.http as unknown as Record<string, (p: string) => import('supertest').Test>)
          [method](path)
          .set('Authorization', bearer(owner))
          .set('Content-Type', 'application/json')
          .send(body);
        if (res.status !== 400 || res.body?.error?.code !== 'VALIDATION_FAILED') {
          wrong.push(`${method} ${path} ${body.slice(0, 40)} → ${res.status} ${res.body?.error?.code}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await socialState()).toEqual(before);
  });

  /** What the owner sees of their friends, requests, groups and the group's members. */
  async function socialState(): Promise<unknown> {
    const get = async (path: string) => {
      const res = await app.http.get(path).set('Authorization', bearer(owner));
      expect(res.status).toBe(200);
      return res.body;
    };
    return {
      friends: await get('/api/v1/friends'),
      incoming: await get('/api/v1/friend-requests?direction=incoming'),
      outgoing: await get('/api/v1/friend-requests?direction=outgoing'),
      groups: await get('/api/v1/groups'),
      group: await get(`/api/v1/groups/${groupId}`),
      members: await get(`/api/v1/groups/${groupId}/members`),
    };
  }

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
