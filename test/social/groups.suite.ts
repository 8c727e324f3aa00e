import type { Config, DeepPartial } from '../../src/config';
import { befriend, startTestApp, type TestApp } from '../helpers/app';
import { describeWith, type Server } from '../helpers/servers';
import { bearer, createGroup, joinOpen, users, type User } from './social.helpers';

/**
 * Groups over HTTP on the instance that `overrides` start (the embedded mode needs no server). Memberships
 * and counts are read back through the groups store port.
 */
export function groupsSuite(name: string, overrides: DeepPartial<Config>, needs: Server[]): void {
  describeWith(...needs)(`groups (${name})`, () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({
        ...overrides,
        groups: { maxMembersLimit: 50, defaultMaxMembers: 10 },
        rateLimit: { registerPerMinute: 100000 },
      });
    });
    afterAll(async () => {
      await app.close();
    });

    const as = (u: User) => ({
      get: (path: string) => app.http.get(path).set('Authorization', bearer(u)),
      post: (path: string, body: object = {}) =>
        app.http.post(path).set('Authorization', bearer(u)).send(body),
      patch: (path: string, body: object) => app.http.patch(path).set('Authorization', bearer(u)).send(body),
      put: (path: string, body: object) => app.http.put(path).set('Authorization', bearer(u)).send(body),
      del: (path: string) => app.http.delete(path).set('Authorization', bearer(u)),
    });

    /** The stored membership's role, or null when the user is not a member. */
    async function memberRow(groupId: string, userId: string) {
      const member = await app.instance.engines.stores.groups.findMember(groupId, userId);
      return member && { role: member.role };
    }

    /** The group's stored member count and how many memberships are stored. */
    async function counts(groupId: string) {
      const store = app.instance.engines.stores.groups;
      const group = await store.findGroup(groupId);
      return { memberCount: group?.memberCount, rows: (await store.memberIds(groupId)).length };
    }

    describe('POST /api/v1/groups', () => {
      it('creates a group with the creator as owner and friends as members', async () => {
        const [o, f1, f2] = await users(app, 3);
        await befriend(app, o, f1);
        await befriend(app, o, f2);
        const res = await as(o).post('/api/v1/groups', { name: 'Crew', memberIds: [f1.id, f2.id, f1.id] });
        expect(res.status).toBe(201);
        expect(res.body).toEqual({
          id: expect.any(String),
          name: 'Crew',
          avatar: null,
          announcement: null,
          ownerId: o.id,
          maxMembers: 10,
          memberCount: 3,
          joinPolicy: 'approval',
          mutedAll: false,
          createdAt: expect.any(String),
        });
        expect(await memberRow(res.body.id, o.id)).toEqual({ role: 'owner' });
        expect(await memberRow(res.body.id, f2.id)).toEqual({ role: 'member' });
        const mine = await as(f1).get('/api/v1/groups');
        expect(mine.body).toEqual({
          items: [expect.objectContaining({ id: res.body.id })],
          nextCursor: null,
        });
      });

      it('refuses initial members who are not friends with 403 NOT_FRIENDS naming them', async () => {
        const [o, f, s1, s2] = await users(app, 4);
        await befriend(app, o, f);
        const res = await as(o).post('/api/v1/groups', { name: 'X', memberIds: [f.id, s1.id, s2.id] });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('NOT_FRIENDS');
        expect(res.body.error.details).toEqual([{ userId: s1.id }, { userId: s2.id }]);
      });

      it('refuses initial members who block the creator or whom the creator blocks with 403 BLOCKED naming them', async () => {
        const [o, blocksMe, blockedByMe, fine, stranger] = await users(app, 5);
        for (const u of [blocksMe, blockedByMe, fine]) await befriend(app, o, u);
        expect((await as(blocksMe).put(`/api/v1/blocks/${o.id}`, {})).status).toBe(204);
        expect((await as(o).put(`/api/v1/blocks/${blockedByMe.id}`, {})).status).toBe(204);

        const res = await as(o).post('/api/v1/groups', {
          name: 'X',
          memberIds: [blocksMe.id, fine.id, blockedByMe.id],
        });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('BLOCKED');
        // Both directions look the same: the ids only, never which side blocks.
        expect(res.body.error.details).toEqual([{ userId: blocksMe.id }, { userId: blockedByMe.id }]);
        expect((await as(o).get('/api/v1/groups')).body.items).toEqual([]);
        expect((await as(blocksMe).get('/api/v1/groups')).body.items).toEqual([]);

        // Asked again (now from the warm cache): same answer, each direction alone too.
        for (const u of [blocksMe, blockedByMe]) {
          const again = await as(o).post('/api/v1/groups', { name: 'X', memberIds: [u.id] });
          expect([again.status, again.body.error.code, again.body.error.details]).toEqual([
            403,
            'BLOCKED',
            [{ userId: u.id }],
          ]);
        }
        // Not being friends is reported first.
        const both = await as(o).post('/api/v1/groups', { name: 'X', memberIds: [blocksMe.id, stranger.id] });
        expect([both.status, both.body.error.code, both.body.error.details]).toEqual([
          403,
          'NOT_FRIENDS',
          [{ userId: stranger.id }],
        ]);

        // Once both blocks are lifted, the same members are accepted.
        await as(blocksMe).del(`/api/v1/blocks/${o.id}`);
        await as(o).del(`/api/v1/blocks/${blockedByMe.id}`);
        const ok = await as(o).post('/api/v1/groups', {
          name: 'X',
          memberIds: [blocksMe.id, fine.id, blockedByMe.id],
        });
        expect(ok.status).toBe(201);
        expect(await counts(ok.body.id)).toEqual({ memberCount: 4, rows: 4 });
      });

      it('checks maxMembers against 2..groups.maxMembersLimit and the initial members', async () => {
        const [o, f1, f2] = await users(app, 3);
        await befriend(app, o, f1);
        await befriend(app, o, f2);
        for (const maxMembers of [1, 51, 2.5, '10']) {
          const res = await as(o).post('/api/v1/groups', { name: 'X', maxMembers });
          expect([res.status, res.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
        }
        expect((await as(o).post('/api/v1/groups', { name: 'X', maxMembers: 50 })).status).toBe(201);
        const full = await as(o).post('/api/v1/groups', {
          name: 'X',
          maxMembers: 2,
          memberIds: [f1.id, f2.id],
        });
        expect([full.status, full.body.error.code]).toEqual([409, 'GROUP_FULL']);
      });

      it('validates name, avatar, joinPolicy, memberIds and unknown fields', async () => {
        const [o] = await users(app, 1);
        const cases: object[] = [
          {},
          { name: '' },
          { name: '   ' },
          { name: 'x'.repeat(65) },
          { name: 'X', avatar: 'ftp://x' },
          { name: 'X', joinPolicy: 'anyone' },
          { name: 'X', memberIds: 'abc' },
          { name: 'X', memberIds: ['abc'] },
          { name: 'X', owner: o.id },
        ];
        for (const body of cases) {
          const res = await as(o).post('/api/v1/groups', body);
          expect([res.status, res.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
        }
      });
    });

    describe('GET /api/v1/groups/{id}', () => {
      it('shows open and approval groups to anyone, invite groups to members only', async () => {
        const [o, stranger] = await users(app, 2);
        for (const joinPolicy of ['open', 'approval']) {
          const g = await createGroup(app, o, { joinPolicy });
          expect((await as(stranger).get(`/api/v1/groups/${g.id}`)).status).toBe(200);
        }
        const g = await createGroup(app, o, { joinPolicy: 'invite' });
        expect((await as(o).get(`/api/v1/groups/${g.id}`)).status).toBe(200);
        const res = await as(stranger).get(`/api/v1/groups/${g.id}`);
        expect([res.status, res.body.error.code]).toEqual([403, 'NOT_A_MEMBER']);
        const missing = await as(o).get('/api/v1/groups/987654321');
        expect([missing.status, missing.body.error.code]).toEqual([404, 'GROUP_NOT_FOUND']);
      });
    });

    describe('join by policy', () => {
      it('open: 200 member; again 409 ALREADY_MEMBER', async () => {
        const [o, u] = await users(app, 2);
        const g = await createGroup(app, o, { joinPolicy: 'open' });
        const res = await as(u).post(`/api/v1/groups/${g.id}/join`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          user: expect.objectContaining({ id: u.id }),
          role: 'member',
          nickname: null,
          mutedUntil: null,
          joinedAt: expect.any(String),
        });
        const again = await as(u).post(`/api/v1/groups/${g.id}/join`);
        expect([again.status, again.body.error.code]).toEqual([409, 'ALREADY_MEMBER']);
        expect(await counts(g.id)).toEqual({ memberCount: 2, rows: 2 });
      });

      it('approval: 202 join request; approve adds the member, reject leaves them out', async () => {
        const [o, u1, u2] = await users(app, 3);
        const g = await createGroup(app, o, { joinPolicy: 'approval' });
        const r1 = await as(u1).post(`/api/v1/groups/${g.id}/join`, { message: 'let me in' });
        expect(r1.status).toBe(202);
        expect(r1.body).toEqual({
          id: expect.any(String),
          user: expect.objectContaining({ id: u1.id }),
          message: 'let me in',
          createdAt: expect.any(String),
        });
        const dup = await as(u1).post(`/api/v1/groups/${g.id}/join`);
        expect([dup.status, dup.body.id]).toEqual([202, r1.body.id]);
        const r2 = await as(u2).post(`/api/v1/groups/${g.id}/join`);
        const list = await as(o).get(`/api/v1/groups/${g.id}/join-requests`);
        expect(list.body.items.map((r: { id: string }) => r.id)).toEqual([r1.body.id, r2.body.id]);
        const approved = await as(o).post(`/api/v1/groups/${g.id}/join-requests/${r1.body.id}/approve`);
        expect(approved.status).toBe(200);
        expect(approved.body).toEqual(
          expect.objectContaining({ role: 'member', user: expect.objectContaining({ id: u1.id }) }),
        );
        expect((await as(o).post(`/api/v1/groups/${g.id}/join-requests/${r2.body.id}/reject`)).status).toBe(
          204,
        );
        expect(await memberRow(g.id, u1.id)).toEqual({ role: 'member' });
        expect(await memberRow(g.id, u2.id)).toBeNull();
        const again = await as(o).post(`/api/v1/groups/${g.id}/join-requests/${r2.body.id}/approve`);
        expect([again.status, again.body.error.code]).toEqual([404, 'JOIN_REQUEST_NOT_FOUND']);
        expect((await as(o).get(`/api/v1/groups/${g.id}/join-requests`)).body.items).toEqual([]);
      });

      it('invite: 403 INVITE_ONLY', async () => {
        const [o, u] = await users(app, 2);
        const g = await createGroup(app, o, { joinPolicy: 'invite' });
        const res = await as(u).post(`/api/v1/groups/${g.id}/join`);
        expect([res.status, res.body.error.code]).toEqual([403, 'INVITE_ONLY']);
      });

      it('a full group refuses joins and approvals with 409 GROUP_FULL', async () => {
        const [o, u1, u2, u3] = await users(app, 4);
        const g = await createGroup(app, o, { joinPolicy: 'open', maxMembers: 2 });
        await joinOpen(app, g.id, u1);
        const res = await as(u2).post(`/api/v1/groups/${g.id}/join`);
        expect([res.status, res.body.error.code]).toEqual([409, 'GROUP_FULL']);
        await as(o).patch(`/api/v1/groups/${g.id}`, { joinPolicy: 'approval' });
        const r = await as(u3).post(`/api/v1/groups/${g.id}/join`);
        const approve = await as(o).post(`/api/v1/groups/${g.id}/join-requests/${r.body.id}/approve`);
        expect([approve.status, approve.body.error.code]).toEqual([409, 'GROUP_FULL']);
        expect(await counts(g.id)).toEqual({ memberCount: 2, rows: 2 });
      });
    });

    describe('bans', () => {
      it('a banned user gets 403 BANNED on join, is skipped on invite, and cannot be approved', async () => {
        const [o, u] = await users(app, 2);
        await befriend(app, o, u);
        const g = await createGroup(app, o, { joinPolicy: 'open', memberIds: [u.id] });
        expect((await as(o).del(`/api/v1/groups/${g.id}/members/${u.id}?ban=true`)).status).toBe(204);
        expect(await memberRow(g.id, u.id)).toBeNull();
        const join = await as(u).post(`/api/v1/groups/${g.id}/join`);
        expect([join.status, join.body.error.code]).toEqual([403, 'BANNED']);
        const invite = await as(o).post(`/api/v1/groups/${g.id}/members`, { userIds: [u.id] });
        expect(invite.status).toBe(200);
        expect(invite.body).toEqual({ added: [], skipped: [{ userId: u.id, reason: 'banned' }] });
        await as(o).patch(`/api/v1/groups/${g.id}`, { joinPolicy: 'approval' });
        const again = await as(u).post(`/api/v1/groups/${g.id}/join`);
        expect([again.status, again.body.error.code]).toEqual([403, 'BANNED']);
        expect(await memberRow(g.id, u.id)).toBeNull();
        expect(await counts(g.id)).toEqual({ memberCount: 1, rows: 1 });
      });

      it('banning a user with a pending request rejects it, so it cannot be approved', async () => {
        const [o, u] = await users(app, 2);
        const g = await createGroup(app, o, { joinPolicy: 'approval' });
        const r = await as(u).post(`/api/v1/groups/${g.id}/join`);
        expect((await as(o).del(`/api/v1/groups/${g.id}/members/${u.id}?ban=true`)).status).toBe(204);
        const approve = await as(o).post(`/api/v1/groups/${g.id}/join-requests/${r.body.id}/approve`);
        expect(approve.status).toBe(404);
        expect(await memberRow(g.id, u.id)).toBeNull();
      });
    });

    describe('invite', () => {
      it('adds friends and skips non-friends, members and banned users with reasons', async () => {
        const [o, f1, f2, stranger, member] = await users(app, 5);
        for (const u of [f1, f2, member]) await befriend(app, o, u);
        const g = await createGroup(app, o, { memberIds: [member.id] });
        const res = await as(o).post(`/api/v1/groups/${g.id}/members`, {
          userIds: [f1.id, stranger.id, member.id, f2.id],
        });
        expect(res.status).toBe(200);
        expect(res.body.added.map((m: { user: { id: string } }) => m.user.id).sort()).toEqual(
          [f1.id, f2.id].sort(),
        );
        expect(res.body.skipped).toEqual(
          expect.arrayContaining([
            { userId: stranger.id, reason: 'not_friend' },
            { userId: member.id, reason: 'already_member' },
          ]),
        );
        expect(await counts(g.id)).toEqual({ memberCount: 4, rows: 4 });
      });

      it('skips users who block the inviter or whom the inviter blocks with reason blocked', async () => {
        const [o, blocksMe, blockedByMe, fine] = await users(app, 4);
        for (const u of [blocksMe, blockedByMe, fine]) await befriend(app, o, u);
        await as(blocksMe).put(`/api/v1/blocks/${o.id}`, {});
        await as(o).put(`/api/v1/blocks/${blockedByMe.id}`, {});
        const g = await createGroup(app, o, { joinPolicy: 'invite' });

        const res = await as(o).post(`/api/v1/groups/${g.id}/members`, {
          userIds: [blocksMe.id, fine.id, blockedByMe.id],
        });
        expect(res.status).toBe(200);
        expect(res.body.added.map((m: { user: { id: string } }) => m.user.id)).toEqual([fine.id]);
        // Both directions give the same reason, so the inviter cannot tell who blocked whom.
        expect(res.body.skipped).toEqual([
          { userId: blocksMe.id, reason: 'blocked' },
          { userId: blockedByMe.id, reason: 'blocked' },
        ]);
        expect(await memberRow(g.id, blocksMe.id)).toBeNull();
        expect(await memberRow(g.id, blockedByMe.id)).toBeNull();
        expect(await counts(g.id)).toEqual({ memberCount: 2, rows: 2 });

        // Again, now answered from the warm cache.
        const again = await as(o).post(`/api/v1/groups/${g.id}/members`, {
          userIds: [blockedByMe.id, blocksMe.id],
        });
        expect(again.body).toEqual({
          added: [],
          skipped: [
            { userId: blockedByMe.id, reason: 'blocked' },
            { userId: blocksMe.id, reason: 'blocked' },
          ],
        });

        // Lifting a block lets the invite through on the very next check.
        await as(blocksMe).del(`/api/v1/blocks/${o.id}`);
        const after = await as(o).post(`/api/v1/groups/${g.id}/members`, {
          userIds: [blocksMe.id, blockedByMe.id],
        });
        expect(after.body.added.map((m: { user: { id: string } }) => m.user.id)).toEqual([blocksMe.id]);
        expect(after.body.skipped).toEqual([{ userId: blockedByMe.id, reason: 'blocked' }]);
        expect(await counts(g.id)).toEqual({ memberCount: 3, rows: 3 });
      });

      it('adds all or nothing: 409 GROUP_FULL when the rest does not fit', async () => {
        const [o, f1, f2] = await users(app, 3);
        await befriend(app, o, f1);
        await befriend(app, o, f2);
        const g = await createGroup(app, o, { maxMembers: 2 });
        const res = await as(o).post(`/api/v1/groups/${g.id}/members`, { userIds: [f1.id, f2.id] });
        expect([res.status, res.body.error.code]).toEqual([409, 'GROUP_FULL']);
        expect(await counts(g.id)).toEqual({ memberCount: 1, rows: 1 });
      });

      it('plain members may invite only to open groups', async () => {
        const [o, m, f] = await users(app, 3);
        await befriend(app, o, m);
        await befriend(app, m, f);
        const g = await createGroup(app, o, { memberIds: [m.id], joinPolicy: 'approval' });
        const refused = await as(m).post(`/api/v1/groups/${g.id}/members`, { userIds: [f.id] });
        expect([refused.status, refused.body.error.code]).toEqual([403, 'FORBIDDEN']);
        await as(o).patch(`/api/v1/groups/${g.id}`, { joinPolicy: 'open' });
        const ok = await as(m).post(`/api/v1/groups/${g.id}/members`, { userIds: [f.id] });
        expect(ok.status).toBe(200);
        expect(ok.body.added).toHaveLength(1);
      });
    });

    describe('members, roles, nicknames and mutes', () => {
      let o: User, a: User, m1: User, m2: User, groupId: string;
      beforeAll(async () => {
        [o, a, m1, m2] = await users(app, 4);
        for (const u of [a, m1, m2]) await befriend(app, o, u);
        groupId = (await createGroup(app, o, { memberIds: [a.id, m1.id, m2.id] })).id;
        expect(
          (await as(o).patch(`/api/v1/groups/${groupId}/members/${a.id}`, { role: 'admin' })).status,
        ).toBe(200);
      });

      it('owner appoints and removes admins; nobody else changes roles; the owner role moves only by transfer', async () => {
        const up = await as(o).patch(`/api/v1/groups/${groupId}/members/${m2.id}`, { role: 'admin' });
        expect([up.status, up.body.role]).toEqual([200, 'admin']);
        const down = await as(o).patch(`/api/v1/groups/${groupId}/members/${m2.id}`, { role: 'member' });
        expect(down.body.role).toBe('member');
        const byAdmin = await as(a).patch(`/api/v1/groups/${groupId}/members/${m1.id}`, { role: 'admin' });
        expect([byAdmin.status, byAdmin.body.error.code]).toEqual([403, 'FORBIDDEN']);
        const ownerSelf = await as(o).patch(`/api/v1/groups/${groupId}/members/${o.id}`, { role: 'member' });
        expect(ownerSelf.status).toBe(403);
        const toOwner = await as(o).patch(`/api/v1/groups/${groupId}/members/${m1.id}`, { role: 'owner' });
        expect(toOwner.status).toBe(400);
      });

      it('members set only their own nickname (max 64)', async () => {
        const own = await as(m1).patch(`/api/v1/groups/${groupId}/members/${m1.id}`, { nickname: 'Emm' });
        expect([own.status, own.body.nickname]).toEqual([200, 'Emm']);
        const other = await as(m1).patch(`/api/v1/groups/${groupId}/members/${m2.id}`, { nickname: 'x' });
        expect(other.status).toBe(403);
        const byOwner = await as(o).patch(`/api/v1/groups/${groupId}/members/${m2.id}`, { nickname: 'x' });
        expect(byOwner.status).toBe(403);
        const long = await as(m1).patch(`/api/v1/groups/${groupId}/members/${m1.id}`, {
          nickname: 'x'.repeat(65),
        });
        expect(long.status).toBe(400);
        const cleared = await as(m1).patch(`/api/v1/groups/${groupId}/members/${m1.id}`, { nickname: null });
        expect(cleared.body.nickname).toBeNull();
      });

      it('owner and admins mute lower roles until a time; null unmutes', async () => {
        const until = new Date(Date.now() + 3600_000).toISOString();
        const res = await as(a).patch(`/api/v1/groups/${groupId}/members/${m1.id}`, { mutedUntil: until });
        expect([res.status, res.body.mutedUntil]).toEqual([200, until]);
        const adminOnOwner = await as(a).patch(`/api/v1/groups/${groupId}/members/${o.id}`, {
          mutedUntil: until,
        });
        expect(adminOnOwner.status).toBe(403);
        const memberOnMember = await as(m2).patch(`/api/v1/groups/${groupId}/members/${m1.id}`, {
          mutedUntil: null,
        });
        expect(memberOnMember.status).toBe(403);
        const ownerOnAdmin = await as(o).patch(`/api/v1/groups/${groupId}/members/${a.id}`, {
          mutedUntil: until,
        });
        expect(ownerOnAdmin.status).toBe(200);
        expect(
          (await as(o).patch(`/api/v1/groups/${groupId}/members/${a.id}`, { mutedUntil: null })).body
            .mutedUntil,
        ).toBeNull();
        for (const mutedUntil of ['tomorrow', '0000-01-01T00:00:00Z', '1960-01-01T00:00:00Z', 5, true]) {
          const bad = await as(o).patch(`/api/v1/groups/${groupId}/members/${m1.id}`, { mutedUntil });
          expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
        }
        const unknown = await as(o).patch(`/api/v1/groups/${groupId}/members/987654321`, {
          mutedUntil: null,
        });
        expect([unknown.status, unknown.body.error.code]).toEqual([404, 'MEMBER_NOT_FOUND']);
      });

      it('lists members with pagination', async () => {
        const first = await as(m2).get(`/api/v1/groups/${groupId}/members?limit=3`);
        expect(first.status).toBe(200);
        expect(first.body.items).toHaveLength(3);
        const rest = await as(m2).get(
          `/api/v1/groups/${groupId}/members?limit=3&cursor=${first.body.nextCursor}`,
        );
        expect(rest.body).toEqual({ items: [expect.any(Object)], nextCursor: null });
        const all = [...first.body.items, ...rest.body.items];
        expect(all.map((m: { user: { id: string } }) => m.user.id).sort()).toEqual(
          [o.id, a.id, m1.id, m2.id].sort(),
        );
        expect(all.find((m: { user: { id: string } }) => m.user.id === o.id).role).toBe('owner');
      });
    });

    describe('remove, leave, transfer, mute-all, update, dissolve', () => {
      it('owner removes anyone but self; admins remove plain members only', async () => {
        const [o, a1, a2, m1, m2] = await users(app, 5);
        for (const u of [a1, a2, m1, m2]) await befriend(app, o, u);
        const g = await createGroup(app, o, { memberIds: [a1.id, a2.id, m1.id, m2.id] });
        for (const u of [a1, a2])
          await as(o).patch(`/api/v1/groups/${g.id}/members/${u.id}`, { role: 'admin' });
        expect((await as(a1).del(`/api/v1/groups/${g.id}/members/${a2.id}`)).status).toBe(403);
        expect((await as(a1).del(`/api/v1/groups/${g.id}/members/${o.id}`)).status).toBe(403);
        expect((await as(m1).del(`/api/v1/groups/${g.id}/members/${m2.id}`)).status).toBe(403);
        expect((await as(a1).del(`/api/v1/groups/${g.id}/members/${m1.id}`)).status).toBe(204);
        expect((await as(o).del(`/api/v1/groups/${g.id}/members/${a2.id}`)).status).toBe(204);
        const self = await as(o).del(`/api/v1/groups/${g.id}/members/${o.id}`);
        expect([self.status, self.body.error.code]).toEqual([400, 'CANNOT_REMOVE_SELF']);
        const gone = await as(o).del(`/api/v1/groups/${g.id}/members/${m1.id}`);
        expect([gone.status, gone.body.error.code]).toEqual([404, 'MEMBER_NOT_FOUND']);
        expect(await counts(g.id)).toEqual({ memberCount: 3, rows: 3 });
        // a removed (not banned) user may come back
        await as(o).patch(`/api/v1/groups/${g.id}`, { joinPolicy: 'open' });
        await joinOpen(app, g.id, m1);
      });

      it('leave: members leave (204); the owner gets 409 OWNER_CANNOT_LEAVE; non-members 403', async () => {
        const [o, m, s] = await users(app, 3);
        await befriend(app, o, m);
        const g = await createGroup(app, o, { memberIds: [m.id] });
        expect((await as(m).post(`/api/v1/groups/${g.id}/leave`)).status).toBe(204);
        const owner = await as(o).post(`/api/v1/groups/${g.id}/leave`);
        expect([owner.status, owner.body.error.code]).toEqual([409, 'OWNER_CANNOT_LEAVE']);
        const stranger = await as(s).post(`/api/v1/groups/${g.id}/leave`);
        expect([stranger.status, stranger.body.error.code]).toEqual([403, 'NOT_A_MEMBER']);
        expect(await counts(g.id)).toEqual({ memberCount: 1, rows: 1 });
      });

      it('transfer: owner only, to a member; the old owner becomes admin and may then leave', async () => {
        const [o, m, s] = await users(app, 3);
        await befriend(app, o, m);
        const g = await createGroup(app, o, { memberIds: [m.id] });
        const notMember = await as(o).post(`/api/v1/groups/${g.id}/transfer`, { userId: s.id });
        expect([notMember.status, notMember.body.error.code]).toEqual([404, 'MEMBER_NOT_FOUND']);
        expect((await as(m).post(`/api/v1/groups/${g.id}/transfer`, { userId: m.id })).status).toBe(403);
        const res = await as(o).post(`/api/v1/groups/${g.id}/transfer`, { userId: m.id });
        expect([res.status, res.body.ownerId]).toEqual([200, m.id]);
        expect(await memberRow(g.id, m.id)).toEqual({ role: 'owner' });
        expect(await memberRow(g.id, o.id)).toEqual({ role: 'admin' });
        expect((await as(o).post(`/api/v1/groups/${g.id}/leave`)).status).toBe(204);
      });

      it('PUT mute sets mutedAll (owner or admin)', async () => {
        const [o, m] = await users(app, 2);
        await befriend(app, o, m);
        const g = await createGroup(app, o, { memberIds: [m.id] });
        const res = await as(o).put(`/api/v1/groups/${g.id}/mute`, { mutedAll: true });
        expect([res.status, res.body.mutedAll]).toEqual([200, true]);
        expect((await as(m).put(`/api/v1/groups/${g.id}/mute`, { mutedAll: false })).status).toBe(403);
        expect((await as(o).put(`/api/v1/groups/${g.id}/mute`, { mutedAll: 'no' })).status).toBe(400);
        expect((await as(o).put(`/api/v1/groups/${g.id}/mute`, {})).status).toBe(400);
      });

      it('PATCH changes fields; maxMembers stays within limits and above the member count', async () => {
        const [o, f1, f2] = await users(app, 3);
        await befriend(app, o, f1);
        await befriend(app, o, f2);
        const g = await createGroup(app, o, { memberIds: [f1.id, f2.id] });
        const res = await as(o).patch(`/api/v1/groups/${g.id}`, {
          name: 'New',
          announcement: 'Hello all',
          avatar: 'https://cdn.example.com/g.png',
          joinPolicy: 'invite',
          maxMembers: 3,
        });
        expect(res.status).toBe(200);
        expect(res.body).toEqual(
          expect.objectContaining({
            name: 'New',
            announcement: 'Hello all',
            avatar: 'https://cdn.example.com/g.png',
            joinPolicy: 'invite',
            maxMembers: 3,
          }),
        );
        const low = await as(o).patch(`/api/v1/groups/${g.id}`, { maxMembers: 2 });
        expect([low.status, low.body.error.code]).toEqual([409, 'MAX_MEMBERS_TOO_LOW']);
        expect((await as(o).patch(`/api/v1/groups/${g.id}`, { maxMembers: 51 })).status).toBe(400);
        expect((await as(o).patch(`/api/v1/groups/${g.id}`, { announcement: 'x'.repeat(2001) })).status).toBe(
          400,
        );
        expect((await as(o).patch(`/api/v1/groups/${g.id}`, { ownerId: f1.id })).status).toBe(400);
      });

      it('dissolve: owner only; then the group is gone for every route', async () => {
        const [o, m] = await users(app, 2);
        await befriend(app, o, m);
        const g = await createGroup(app, o, { memberIds: [m.id], joinPolicy: 'open' });
        expect((await as(m).del(`/api/v1/groups/${g.id}`)).status).toBe(403);
        expect((await as(o).del(`/api/v1/groups/${g.id}`)).status).toBe(204);
        for (const res of [
          await as(o).get(`/api/v1/groups/${g.id}`),
          await as(o).del(`/api/v1/groups/${g.id}`),
          await as(m).post(`/api/v1/groups/${g.id}/join`),
          await as(o).get(`/api/v1/groups/${g.id}/members`),
          await as(o).patch(`/api/v1/groups/${g.id}`, { name: 'x' }),
          await as(o).put(`/api/v1/groups/${g.id}/mute`, { mutedAll: true }),
        ]) {
          expect([res.status, res.body.error.code]).toEqual([404, 'GROUP_NOT_FOUND']);
        }
        expect((await as(m).get('/api/v1/groups')).body.items).toEqual([]);
        expect(await app.instance.services.socialPolicy.groupMemberIds(g.id)).toEqual([]);
      });
    });
  });
}
