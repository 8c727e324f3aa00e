import { befriend, startTestApp, type TestApp } from '../helpers/app';
import { bearer, users, type User } from './social.helpers';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

type Role = 'owner' | 'admin' | 'member' | 'nonMember' | 'banned';
const ROLES: Role[] = ['owner', 'admin', 'member', 'nonMember', 'banned'];

/** One fresh group per case: O owner, A admin, M and M2 plain members, N a stranger, B banned, J a pending joiner. */
interface Fixture {
  groupId: string;
  requestId: string;
  people: Record<Role | 'member2' | 'joiner', User>;
}

/** An expected outcome: status, and the error code when it is an error. */
type Outcome = [number, string?];

interface Case {
  route: string;
  call: (
    app: TestApp,
    f: Fixture,
    actor: User,
  ) => Promise<{ status: number; body: { error?: { code: string } } }>;
  expect: Record<Role, Outcome>;
  joinPolicy?: 'open' | 'approval' | 'invite';
  /** A read: no answer may change the group. */
  read?: boolean;
}

const NOT_MEMBER: Outcome = [403, 'NOT_A_MEMBER'];
const FORBIDDEN: Outcome = [403, 'FORBIDDEN'];

const future = () => new Date(Date.now() + 3600_000).toISOString();

const CASES: Case[] = [
  {
    route: 'GET /groups/{id} (approval group)',
    read: true,
    call: (app, f, u) => app.http.get(`/api/v1/groups/${f.groupId}`).set('Authorization', bearer(u)),
    expect: { owner: [200], admin: [200], member: [200], nonMember: [200], banned: [200] },
  },
  {
    route: 'GET /groups/{id} (invite group)',
    read: true,
    joinPolicy: 'invite',
    call: (app, f, u) => app.http.get(`/api/v1/groups/${f.groupId}`).set('Authorization', bearer(u)),
    expect: { owner: [200], admin: [200], member: [200], nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'PATCH /groups/{id}',
    call: (app, f, u) =>
      app.http.patch(`/api/v1/groups/${f.groupId}`).set('Authorization', bearer(u)).send({ name: 'Renamed' }),
    expect: { owner: [200], admin: [200], member: FORBIDDEN, nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'DELETE /groups/{id}',
    call: (app, f, u) => app.http.delete(`/api/v1/groups/${f.groupId}`).set('Authorization', bearer(u)),
    expect: { owner: [204], admin: FORBIDDEN, member: FORBIDDEN, nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'POST /groups/{id}/join (approval group)',
    call: (app, f, u) =>
      app.http.post(`/api/v1/groups/${f.groupId}/join`).set('Authorization', bearer(u)).send({}),
    expect: {
      owner: [409, 'ALREADY_MEMBER'],
      admin: [409, 'ALREADY_MEMBER'],
      member: [409, 'ALREADY_MEMBER'],
      nonMember: [202],
      banned: [403, 'BANNED'],
    },
  },
  {
    route: 'POST /groups/{id}/join (open group)',
    joinPolicy: 'open',
    call: (app, f, u) =>
      app.http.post(`/api/v1/groups/${f.groupId}/join`).set('Authorization', bearer(u)).send({}),
    expect: {
      owner: [409, 'ALREADY_MEMBER'],
      admin: [409, 'ALREADY_MEMBER'],
      member: [409, 'ALREADY_MEMBER'],
      nonMember: [200],
      banned: [403, 'BANNED'],
    },
  },
  {
    route: 'POST /groups/{id}/leave',
    call: (app, f, u) =>
      app.http.post(`/api/v1/groups/${f.groupId}/leave`).set('Authorization', bearer(u)).send({}),
    expect: {
      owner: [409, 'OWNER_CANNOT_LEAVE'],
      admin: [204],
      member: [204],
      nonMember: NOT_MEMBER,
      banned: NOT_MEMBER,
    },
  },
  {
    route: 'GET /groups/{id}/members',
    read: true,
    call: (app, f, u) => app.http.get(`/api/v1/groups/${f.groupId}/members`).set('Authorization', bearer(u)),
    expect: { owner: [200], admin: [200], member: [200], nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'POST /groups/{id}/members (approval group)',
    call: (app, f, u) =>
      app.http
        .post(`/api/v1/groups/${f.groupId}/members`)
        .set('Authorization', bearer(u))
        .send({ userIds: [f.people.joiner.id] }),
    expect: { owner: [200], admin: [200], member: FORBIDDEN, nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'POST /groups/{id}/members (open group)',
    joinPolicy: 'open',
    call: (app, f, u) =>
      app.http
        .post(`/api/v1/groups/${f.groupId}/members`)
        .set('Authorization', bearer(u))
        .send({ userIds: [f.people.joiner.id] }),
    expect: { owner: [200], admin: [200], member: [200], nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'PATCH /groups/{id}/members/{member} {mutedUntil}',
    call: (app, f, u) =>
      app.http
        .patch(`/api/v1/groups/${f.groupId}/members/${f.people.member2.id}`)
        .set('Authorization', bearer(u))
        .send({ mutedUntil: future() }),
    expect: { owner: [200], admin: [200], member: FORBIDDEN, nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'PATCH /groups/{id}/members/{member} {role}',
    call: (app, f, u) =>
      app.http
        .patch(`/api/v1/groups/${f.groupId}/members/${f.people.member2.id}`)
        .set('Authorization', bearer(u))
        .send({ role: 'admin' }),
    expect: { owner: [200], admin: FORBIDDEN, member: FORBIDDEN, nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'PATCH /groups/{id}/members/{member} {nickname}',
    call: (app, f, u) =>
      app.http
        .patch(`/api/v1/groups/${f.groupId}/members/${f.people.member2.id}`)
        .set('Authorization', bearer(u))
        .send({ nickname: 'nick' }),
    expect: {
      owner: FORBIDDEN,
      admin: FORBIDDEN,
      member: FORBIDDEN,
      nonMember: NOT_MEMBER,
      banned: NOT_MEMBER,
    },
  },
  {
    route: 'PATCH /groups/{id}/members/{self} {nickname}',
    call: (app, f, u) =>
      app.http
        .patch(`/api/v1/groups/${f.groupId}/members/${u.id}`)
        .set('Authorization', bearer(u))
        .send({ nickname: 'me' }),
    expect: { owner: [200], admin: [200], member: [200], nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'DELETE /groups/{id}/members/{member}',
    call: (app, f, u) =>
      app.http
        .delete(`/api/v1/groups/${f.groupId}/members/${f.people.member2.id}`)
        .set('Authorization', bearer(u)),
    expect: { owner: [204], admin: [204], member: FORBIDDEN, nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'DELETE /groups/{id}/members/{admin}?ban=true',
    call: (app, f, u) =>
      app.http
        .delete(`/api/v1/groups/${f.groupId}/members/${f.people.admin.id}?ban=true`)
        .set('Authorization', bearer(u)),
    expect: {
      owner: [204],
      admin: [400, 'CANNOT_REMOVE_SELF'],
      member: FORBIDDEN,
      nonMember: NOT_MEMBER,
      banned: NOT_MEMBER,
    },
  },
  {
    route: 'DELETE /groups/{id}/members/{owner}',
    call: (app, f, u) =>
      app.http
        .delete(`/api/v1/groups/${f.groupId}/members/${f.people.owner.id}`)
        .set('Authorization', bearer(u)),
    expect: {
      owner: [400, 'CANNOT_REMOVE_SELF'],
      admin: FORBIDDEN,
      member: FORBIDDEN,
      nonMember: NOT_MEMBER,
      banned: NOT_MEMBER,
    },
  },
  {
    route: 'POST /groups/{id}/transfer',
    call: (app, f, u) =>
      app.http
        .post(`/api/v1/groups/${f.groupId}/transfer`)
        .set('Authorization', bearer(u))
        .send({ userId: f.people.member2.id }),
    expect: { owner: [200], admin: FORBIDDEN, member: FORBIDDEN, nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'PUT /groups/{id}/mute',
    call: (app, f, u) =>
      app.http
        .put(`/api/v1/groups/${f.groupId}/mute`)
        .set('Authorization', bearer(u))
        .send({ mutedAll: true }),
    expect: { owner: [200], admin: [200], member: FORBIDDEN, nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'GET /groups/{id}/join-requests',
    read: true,
    call: (app, f, u) =>
      app.http.get(`/api/v1/groups/${f.groupId}/join-requests`).set('Authorization', bearer(u)),
    expect: { owner: [200], admin: [200], member: FORBIDDEN, nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'POST /groups/{id}/join-requests/{rid}/approve',
    call: (app, f, u) =>
      app.http
        .post(`/api/v1/groups/${f.groupId}/join-requests/${f.requestId}/approve`)
        .set('Authorization', bearer(u))
        .send({}),
    expect: { owner: [200], admin: [200], member: FORBIDDEN, nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
  {
    route: 'POST /groups/{id}/join-requests/{rid}/reject',
    call: (app, f, u) =>
      app.http
        .post(`/api/v1/groups/${f.groupId}/join-requests/${f.requestId}/reject`)
        .set('Authorization', bearer(u))
        .send({}),
    expect: { owner: [204], admin: [204], member: FORBIDDEN, nonMember: NOT_MEMBER, banned: NOT_MEMBER },
  },
];

needsServers('group routes: authorisation matrix (owner, admin, member, non-member, banned)', () => {
  let app: TestApp;
  let people: Fixture['people'];

  beforeAll(async () => {
    app = await startTestApp({ rateLimit: { registerPerMinute: 100000 } });
    const [owner, admin, member, member2, nonMember, banned, joiner] = await users(app, 7);
    people = { owner, admin, member, member2, nonMember, banned, joiner };
    for (const u of [admin, member, member2]) await befriend(app, owner, u);
    // Everyone who may invite knows the invitee, so an allowed invite really adds someone.
    for (const u of [owner, admin, member]) await befriend(app, u, joiner);
  });
  afterAll(async () => {
    await app.close();
  });

  async function fixture(joinPolicy: Case['joinPolicy'] = 'approval'): Promise<Fixture> {
    const { owner, admin, member, member2, banned, joiner } = people;
    const as = (u: User) => ({ Authorization: bearer(u) });
    const created = await app.http
      .post('/api/v1/groups')
      .set(as(owner))
      .send({ name: 'Matrix', memberIds: [admin.id, member.id, member2.id], joinPolicy: 'approval' });
    const groupId = created.body.id as string;
    await app.http
      .patch(`/api/v1/groups/${groupId}/members/${admin.id}`)
      .set(as(owner))
      .send({ role: 'admin' });
    await app.http.delete(`/api/v1/groups/${groupId}/members/${banned.id}?ban=true`).set(as(owner));
    const request = await app.http.post(`/api/v1/groups/${groupId}/join`).set(as(joiner)).send({});
    if (joinPolicy !== 'approval') {
      await app.http.patch(`/api/v1/groups/${groupId}`).set(as(owner)).send({ joinPolicy });
    }
    return { groupId, requestId: request.body.id, people };
  }

  const rows = CASES.flatMap((c) => ROLES.map((role) => [c.route, role, c] as const));

  /** The group as its owner reads it back: details, members (roles, mutes, nicknames) and join requests. */
  async function groupState(f: Fixture): Promise<unknown> {
    const as = { Authorization: bearer(f.people.owner) };
    const read = async (path: string) => {
      const res = await app.http.get(path).set(as);
      return { status: res.status, body: res.body };
    };
    return {
      group: await read(`/api/v1/groups/${f.groupId}`),
      members: await read(`/api/v1/groups/${f.groupId}/members?limit=100`),
      joinRequests: await read(`/api/v1/groups/${f.groupId}/join-requests`),
    };
  }

  it.each(rows)('%s as %s', async (_route, role, c) => {
    const f = await fixture(c.joinPolicy);
    const before = await groupState(f);
    const res = await c.call(app, f, f.people[role]);
    const [status, code] = c.expect[role];
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
    const after = await groupState(f);
    // A refused call leaves the group as it was; an allowed write changes what its owner reads back.
    if (c.read || status >= 400) expect(after).toEqual(before);
    else expect(after).not.toEqual(before);
  });
});
