import type { Config, DeepPartial } from '../../src/config';
import { befriend, startTestApp, type TestApp } from '../helpers/app';
import { describeWith, type Server } from '../helpers/servers';
import { TestClient } from '../helpers/ws-client';
import { bearer, users, type User } from './social.helpers';

/**
 * Friend requests, friendships and blocks over HTTP, on the instance that `overrides` start (the embedded
 * mode needs no server). The stored state is read through the friends store port or the public API.
 */
export function friendsSuite(name: string, overrides: DeepPartial<Config>, needs: Server[]): void {
  describeWith(...needs)(`friends (${name})`, () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ ...overrides, rateLimit: { registerPerMinute: 100000 } });
    });
    afterAll(async () => {
      await app.close();
    });

    /**
     * How a settled request ended, as its target sees it: accepting it again is refused with 409 and a message
     * naming its status (the API has no other view of a settled request).
     */
    const settledAs = async (target: User, requestId: string) => {
      const res = await post(target, `/api/v1/friend-requests/${requestId}/accept`);
      expect([res.status, res.body.error.code]).toEqual([409, 'REQUEST_NOT_PENDING']);
      return /already (\w+)/.exec(res.body.error.message)?.[1];
    };

    const post = (u: User, path: string, body: object = {}) =>
      app.http.post(path).set('Authorization', bearer(u)).send(body);
    const get = (u: User, path: string) => app.http.get(path).set('Authorization', bearer(u));

    describe('POST /api/v1/friend-requests', () => {
      it('creates a pending request with public users on both ends', async () => {
        const [a, b] = await users(app, 2);
        const res = await post(a, '/api/v1/friend-requests', { userId: b.id, message: 'hi', remark: 'Bee' });
        expect(res.status).toBe(201);
        expect(res.body).toEqual({
          id: expect.any(String),
          from: expect.objectContaining({ id: a.id, username: a.username }),
          to: expect.objectContaining({ id: b.id }),
          message: 'hi',
          status: 'pending',
          createdAt: expect.any(String),
        });
        expect(res.body.from).not.toHaveProperty('role');
        const incoming = await get(b, '/api/v1/friend-requests?direction=incoming');
        expect(incoming.body.items.map((r: { id: string }) => r.id)).toEqual([res.body.id]);
        const outgoing = await get(a, '/api/v1/friend-requests?direction=outgoing');
        expect(outgoing.body).toEqual({
          items: [expect.objectContaining({ id: res.body.id })],
          nextCursor: null,
        });
      });

      it('refuses yourself with 400 CANNOT_FRIEND_SELF', async () => {
        const [a] = await users(app, 1);
        const res = await post(a, '/api/v1/friend-requests', { userId: a.id });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('CANNOT_FRIEND_SELF');
      });

      it('refuses an unknown user with 404 USER_NOT_FOUND', async () => {
        const [a] = await users(app, 1);
        const res = await post(a, '/api/v1/friend-requests', { userId: '999999999' });
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe('USER_NOT_FOUND');
      });

      it('refuses a second pending request with 409 REQUEST_PENDING', async () => {
        const [a, b] = await users(app, 2);
        expect((await post(a, '/api/v1/friend-requests', { userId: b.id })).status).toBe(201);
        const res = await post(a, '/api/v1/friend-requests', { userId: b.id });
        expect(res.status).toBe(409);
        expect(res.body.error.code).toBe('REQUEST_PENDING');
      });

      it('refuses friends with 409 ALREADY_FRIENDS', async () => {
        const [a, b] = await users(app, 2);
        await befriend(app, a, b);
        for (const [x, y] of [
          [a, b],
          [b, a],
        ]) {
          const res = await post(x, '/api/v1/friend-requests', { userId: y.id });
          expect(res.status).toBe(409);
          expect(res.body.error.code).toBe('ALREADY_FRIENDS');
        }
      });

      it('turns a reverse pending request into a friendship at once (200 with the friend)', async () => {
        const [a, b] = await users(app, 2);
        const first = await post(a, '/api/v1/friend-requests', { userId: b.id, remark: 'B' });
        const res = await post(b, '/api/v1/friend-requests', { userId: a.id, remark: 'A' });
        expect(res.status).toBe(200);
        expect(res.body.friend).toEqual({
          user: expect.objectContaining({ id: a.id }),
          remark: 'A',
          since: expect.any(String),
        });
        const list = await get(a, '/api/v1/friends');
        expect(list.body.items).toEqual([
          expect.objectContaining({ remark: 'B', user: expect.objectContaining({ id: b.id }) }),
        ]);
        expect(await settledAs(b, first.body.id)).toBe('accepted');
        const pending = await get(b, '/api/v1/friend-requests?direction=incoming');
        expect(pending.body.items).toEqual([]);
      });

      it('refuses a request either way once one side blocks, with 403 BLOCKED', async () => {
        const [a, b] = await users(app, 2);
        expect((await app.http.put(`/api/v1/blocks/${b.id}`).set('Authorization', bearer(a))).status).toBe(
          204,
        );
        for (const [x, y] of [
          [a, b],
          [b, a],
        ]) {
          const res = await post(x, '/api/v1/friend-requests', { userId: y.id });
          expect(res.status).toBe(403);
          expect(res.body.error.code).toBe('BLOCKED');
        }
      });

      it('validates the body: lengths, types and unknown fields', async () => {
        const [a, b] = await users(app, 2);
        const cases: object[] = [
          {},
          { userId: 'abc' },
          { userId: b.id, message: 'x'.repeat(501) },
          { userId: b.id, remark: 'x'.repeat(65) },
          { userId: b.id, message: 5 },
          { userId: b.id, extra: true },
          { userId: ['1'] },
        ];
        for (const body of cases) {
          const res = await post(a, '/api/v1/friend-requests', body);
          expect([res.status, res.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
        }
        const ok = await post(a, '/api/v1/friend-requests', {
          userId: b.id,
          message: 'x'.repeat(500),
          remark: 'r'.repeat(64),
        });
        expect(ok.status).toBe(201);
      });

      it('needs a token', async () => {
        const res = await app.http.post('/api/v1/friend-requests').send({ userId: '1' });
        expect(res.status).toBe(401);
      });
    });

    describe('accept and reject', () => {
      it('accept returns {friend} with the requester and the accepter remark; both lists show it', async () => {
        const [a, b] = await users(app, 2);
        const r = await post(a, '/api/v1/friend-requests', { userId: b.id, remark: 'bee' });
        const res = await post(b, `/api/v1/friend-requests/${r.body.id}/accept`, { remark: 'ay' });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          friend: { user: expect.objectContaining({ id: a.id }), remark: 'ay', since: expect.any(String) },
        });
        expect((await get(a, '/api/v1/friends')).body.items).toEqual([
          expect.objectContaining({ remark: 'bee', user: expect.objectContaining({ id: b.id }) }),
        ]);
        const stored = app.instance.engines.stores.friends;
        expect(await stored.findFriendship(a.id, b.id)).toMatchObject({ friendId: b.id, remark: 'bee' });
        expect(await stored.findFriendship(b.id, a.id)).toMatchObject({ friendId: a.id, remark: 'ay' });
      });

      it('only the target may accept or reject (404 REQUEST_NOT_FOUND); a settled request gives 409 REQUEST_NOT_PENDING', async () => {
        const [a, b, c] = await users(app, 3);
        const r = await post(a, '/api/v1/friend-requests', { userId: b.id });
        for (const who of [a, c]) {
          const acc = await post(who, `/api/v1/friend-requests/${r.body.id}/accept`);
          expect([acc.status, acc.body.error.code]).toEqual([404, 'REQUEST_NOT_FOUND']);
          const rej = await post(who, `/api/v1/friend-requests/${r.body.id}/reject`);
          expect([rej.status, rej.body.error.code]).toEqual([404, 'REQUEST_NOT_FOUND']);
        }
        expect((await post(b, `/api/v1/friend-requests/${r.body.id}/reject`, { reply: 'no' })).status).toBe(
          204,
        );
        const again = await post(b, `/api/v1/friend-requests/${r.body.id}/accept`);
        expect([again.status, again.body.error.code]).toEqual([409, 'REQUEST_NOT_PENDING']);
        const unknown = await post(b, '/api/v1/friend-requests/987654321/accept');
        expect(unknown.status).toBe(404);
      });

      it('reject tells the requester the reply and allows a new request later', async () => {
        const [a, b] = await users(app, 2);
        const r = await post(a, '/api/v1/friend-requests', { userId: b.id });
        const requester = await TestClient.open(app, a.token);
        try {
          expect(
            (await post(b, `/api/v1/friend-requests/${r.body.id}/reject`, { reply: 'who?' })).status,
          ).toBe(204);
          expect(await requester.event('friend.rejected')).toEqual({
            requestId: r.body.id,
            userId: b.id,
            reply: 'who?',
          });
        } finally {
          await requester.close();
        }
        expect(await settledAs(b, r.body.id)).toBe('rejected');
        expect((await post(a, '/api/v1/friend-requests', { userId: b.id })).status).toBe(201);
      });
    });

    describe('friends list, PATCH and DELETE', () => {
      it('hides a friend unless all=true; sets and clears a remark', async () => {
        const [a, b, c] = await users(app, 3);
        await befriend(app, a, b);
        await befriend(app, a, c);
        const patch = await app.http
          .patch(`/api/v1/friends/${b.id}`)
          .set('Authorization', bearer(a))
          .send({ hidden: true, remark: 'Bob' });
        expect(patch.status).toBe(200);
        expect(patch.body).toEqual({
          user: expect.objectContaining({ id: b.id }),
          remark: 'Bob',
          since: expect.any(String),
        });
        expect(
          (await get(a, '/api/v1/friends')).body.items.map((f: { user: { id: string } }) => f.user.id),
        ).toEqual([c.id]);
        expect(
          (await get(a, '/api/v1/friends?all=true')).body.items.map(
            (f: { user: { id: string } }) => f.user.id,
          ),
        ).toEqual([b.id, c.id]);
        const cleared = await app.http
          .patch(`/api/v1/friends/${b.id}`)
          .set('Authorization', bearer(a))
          .send({ remark: null });
        expect(cleared.body.remark).toBeNull();
        // b's own view is untouched
        expect((await get(b, '/api/v1/friends')).body.items).toEqual([
          expect.objectContaining({ remark: null }),
        ]);
      });

      it('PATCH on a stranger is 404 FRIEND_NOT_FOUND; bad fields are 400', async () => {
        const [a, b] = await users(app, 2);
        const res = await app.http
          .patch(`/api/v1/friends/${b.id}`)
          .set('Authorization', bearer(a))
          .send({ remark: 'x' });
        expect([res.status, res.body.error.code]).toEqual([404, 'FRIEND_NOT_FOUND']);
        for (const body of [{ hidden: 'yes' }, { remark: 'x'.repeat(65) }, { nope: 1 }]) {
          const bad = await app.http
            .patch(`/api/v1/friends/${b.id}`)
            .set('Authorization', bearer(a))
            .send(body);
          expect(bad.status).toBe(400);
        }
      });

      it('DELETE ends the friendship for both sides; a second DELETE is 404', async () => {
        const [a, b] = await users(app, 2);
        await befriend(app, a, b);
        const del = await app.http
          .delete(`/api/v1/friends/${b.id}?deleteHistory=true`)
          .set('Authorization', bearer(a));
        expect(del.status).toBe(204);
        expect((await get(b, '/api/v1/friends')).body.items).toEqual([]);
        const again = await app.http.delete(`/api/v1/friends/${b.id}`).set('Authorization', bearer(a));
        expect([again.status, again.body.error.code]).toEqual([404, 'FRIEND_NOT_FOUND']);
        expect((await post(b, '/api/v1/friend-requests', { userId: a.id })).status).toBe(201);
      });

      it('paginates friends with {items, nextCursor}', async () => {
        const [a, ...others] = await users(app, 6);
        for (const o of others) await befriend(app, a, o);
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const res = await get(a, `/api/v1/friends?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
          expect(res.status).toBe(200);
          expect(res.body.items.length).toBeLessThanOrEqual(2);
          seen.push(...res.body.items.map((f: { user: { id: string } }) => f.user.id));
          cursor = res.body.nextCursor;
        } while (cursor);
        expect(seen).toEqual(others.map((o) => o.id));
        expect((await get(a, '/api/v1/friends?limit=101')).status).toBe(400);
        expect((await get(a, '/api/v1/friends?limit=0')).status).toBe(400);
      });
    });

    describe('blocks', () => {
      it('PUT is idempotent, lists the user, cancels pending requests and keeps the friendship', async () => {
        const [a, b, c] = await users(app, 3);
        await befriend(app, a, b);
        const pending = await post(c, '/api/v1/friend-requests', { userId: a.id });
        for (let i = 0; i < 2; i++) {
          expect((await app.http.put(`/api/v1/blocks/${b.id}`).set('Authorization', bearer(a))).status).toBe(
            204,
          );
        }
        expect((await app.http.put(`/api/v1/blocks/${c.id}`).set('Authorization', bearer(a))).status).toBe(
          204,
        );
        const list = await get(a, '/api/v1/blocks');
        expect(list.body).toEqual({
          items: [expect.objectContaining({ id: b.id }), expect.objectContaining({ id: c.id })],
          nextCursor: null,
        });
        expect(await settledAs(a, pending.body.id)).toBe('cancelled');
        expect((await get(a, '/api/v1/friends')).body.items).toHaveLength(1);
        const page = await get(a, '/api/v1/blocks?limit=1');
        expect(page.body.items).toHaveLength(1);
        expect(page.body.nextCursor).toEqual(expect.any(String));
      });

      it('DELETE unblocks (idempotent) and requests work again', async () => {
        const [a, b] = await users(app, 2);
        await app.http.put(`/api/v1/blocks/${b.id}`).set('Authorization', bearer(a));
        for (let i = 0; i < 2; i++) {
          expect(
            (await app.http.delete(`/api/v1/blocks/${b.id}`).set('Authorization', bearer(a))).status,
          ).toBe(204);
        }
        expect((await get(a, '/api/v1/blocks')).body.items).toEqual([]);
        expect((await post(b, '/api/v1/friend-requests', { userId: a.id })).status).toBe(201);
      });

      it('refuses blocking yourself (400 CANNOT_BLOCK_SELF) and unknown users (404 USER_NOT_FOUND)', async () => {
        const [a] = await users(app, 1);
        const self = await app.http.put(`/api/v1/blocks/${a.id}`).set('Authorization', bearer(a));
        expect([self.status, self.body.error.code]).toEqual([400, 'CANNOT_BLOCK_SELF']);
        const unknown = await app.http.put('/api/v1/blocks/999999999').set('Authorization', bearer(a));
        expect([unknown.status, unknown.body.error.code]).toEqual([404, 'USER_NOT_FOUND']);
        const bad = await app.http.put('/api/v1/blocks/abc').set('Authorization', bearer(a));
        expect(bad.status).toBe(400);
      });
    });
  });
}
