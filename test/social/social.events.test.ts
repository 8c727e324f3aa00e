import { startTestApp, type TestApp } from '../helpers/app';
import { bearer, befriend, createGroup, joinOpen, users, WsClient } from './social.helpers';

describe('social events over the WebSocket', () => {
  let app: TestApp;
  const clients: WsClient[] = [];
  const open = async (token: string) => {
    const c = await WsClient.open(app, token);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    app = await startTestApp({ rateLimit: { registerPerMinute: 100000 } });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await app.close();
  });

  it('friend.request reaches the target; friend.accepted reaches the requester; both carry the other party as userId; the greeting is message seq 1', async () => {
    const [a, b] = await users(app, 2);
    const [wa, wb] = [await open(a.token), await open(b.token)];
    const req = await app.http
      .post('/api/v1/friend-requests')
      .set('Authorization', bearer(a))
      .send({ userId: b.id, message: 'hello there' });
    const event = await wb.next<{ id: string; from: { id: string }; to: { id: string }; message: string }>(
      'friend.request',
    );
    expect(event).toEqual({
      id: req.body.id,
      from: expect.objectContaining({ id: a.id }),
      to: expect.objectContaining({ id: b.id }),
      message: 'hello there',
      status: 'pending',
      createdAt: expect.any(String),
      userId: a.id,
    });
    await app.http
      .post(`/api/v1/friend-requests/${req.body.id}/accept`)
      .set('Authorization', bearer(b))
      .send({});
    const accepted = await wa.next('friend.accepted');
    expect(accepted).toEqual({
      requestId: req.body.id,
      userId: b.id,
      friend: { user: expect.objectContaining({ id: b.id }), remark: null, since: expect.any(String) },
    });
    const [lo, hi] = [a.id, b.id].sort((x, y) => Number(x) - Number(y));
    const history = await app.http
      .get(`/api/v1/conversations/p:${lo}:${hi}/messages`)
      .set('Authorization', bearer(b));
    expect(history.status).toBe(200);
    expect(history.body.items[0]).toEqual(
      expect.objectContaining({ seq: 1, senderId: a.id, type: 'text', content: { text: 'hello there' } }),
    );
  });

  it('friend.rejected reaches the requester (not the user who rejected), with the rejecter as userId', async () => {
    const [a, b] = await users(app, 2);
    const [wa, wb] = [await open(a.token), await open(b.token)];
    const req = await app.http
      .post('/api/v1/friend-requests')
      .set('Authorization', bearer(a))
      .send({ userId: b.id });
    await wb.next('friend.request');
    await app.http
      .post(`/api/v1/friend-requests/${req.body.id}/reject`)
      .set('Authorization', bearer(b))
      .send({ reply: 'sorry' });
    expect(await wa.next('friend.rejected')).toEqual({
      requestId: req.body.id,
      userId: b.id,
      reply: 'sorry',
    });
    // A later event to b proves the rejection was never sent there.
    await app.http.post('/api/v1/friend-requests').set('Authorization', bearer(a)).send({ userId: b.id });
    await wb.next('friend.request');
    expect(wb.types()).not.toContain('friend.rejected');
  });

  it('a crossed request tells the first requester friend.accepted with the other side as userId', async () => {
    const [a, b] = await users(app, 2);
    const wa = await open(a.token);
    const first = await app.http
      .post('/api/v1/friend-requests')
      .set('Authorization', bearer(a))
      .send({ userId: b.id });
    const res = await app.http
      .post('/api/v1/friend-requests')
      .set('Authorization', bearer(b))
      .send({ userId: a.id });
    expect(res.status).toBe(200);
    const accepted = await wa.next<{ userId: string; friend: { user: { id: string } } }>('friend.accepted');
    expect(accepted).toEqual({
      requestId: first.body.id,
      userId: b.id,
      friend: { user: expect.objectContaining({ id: b.id }), remark: null, since: expect.any(String) },
    });
  });

  it('friend.removed reaches the other side, with the remover as userId', async () => {
    const [a, b] = await users(app, 2);
    await befriend(app, a, b);
    const wb = await open(b.token);
    await app.http.delete(`/api/v1/friends/${b.id}`).set('Authorization', bearer(a));
    expect(await wb.next('friend.removed')).toEqual({ userId: a.id });
  });

  it('presence changes reach friends through the audience the friends module supplies', async () => {
    const [a, b] = await users(app, 2);
    await befriend(app, a, b);
    const wb = await open(b.token);
    await open(a.token);
    expect(await wb.next<{ userId: string }>('presence', (d) => d.userId === a.id)).toEqual(
      expect.objectContaining({ userId: a.id, online: true }),
    );
  });

  it('a friend the user blocks does not hear their presence', async () => {
    const [a, b, c] = await users(app, 3);
    await befriend(app, a, b);
    await befriend(app, a, c);
    await app.http.put(`/api/v1/blocks/${b.id}`).set('Authorization', bearer(a));
    const [wb, wc] = [await open(b.token), await open(c.token)];
    await open(a.token);
    await wc.next<{ userId: string }>('presence', (d) => d.userId === a.id);
    expect(await app.instance.services.friends.presenceAudience(a.id)).toEqual([c.id]);
    expect(wb.types()).not.toContain('presence');
  });

  it('group.member_joined, group.updated, group.member_removed and group.dissolved reach the members', async () => {
    const [o, m, j] = await users(app, 3);
    await befriend(app, o, m);
    const g = await createGroup(app, o, { joinPolicy: 'open', memberIds: [m.id] });
    const [wo, wm, wj] = [await open(o.token), await open(m.token), await open(j.token)];
    await joinOpen(app, g.id, j);
    for (const w of [wo, wm, wj]) {
      const joined = await w.next<{ groupId: string; member: { user: { id: string }; role: string } }>(
        'group.member_joined',
      );
      expect(joined).toEqual({ groupId: g.id, member: expect.objectContaining({ role: 'member' }) });
      expect(joined.member.user.id).toBe(j.id);
    }
    await app.http
      .put(`/api/v1/groups/${g.id}/mute`)
      .set('Authorization', bearer(o))
      .send({ mutedAll: true });
    expect(await wm.next('group.updated')).toEqual({
      groupId: g.id,
      group: expect.objectContaining({ mutedAll: true }),
    });
    await app.http.delete(`/api/v1/groups/${g.id}/members/${j.id}?ban=true`).set('Authorization', bearer(o));
    for (const w of [wm, wj]) {
      expect(await w.next('group.member_removed')).toEqual({ groupId: g.id, userId: j.id, banned: true });
    }
    await app.http.post(`/api/v1/groups/${g.id}/leave`).set('Authorization', bearer(m));
    expect(await wo.next('group.member_left')).toEqual({ groupId: g.id, userId: m.id });
    await app.http.delete(`/api/v1/groups/${g.id}`).set('Authorization', bearer(o));
    expect(await wo.next('group.dissolved')).toEqual({ groupId: g.id });
  });

  it('join requests reach the owner and admins; a rejection reaches the requester', async () => {
    const [o, u] = await users(app, 2);
    const g = await createGroup(app, o, { joinPolicy: 'approval' });
    const [wo, wu] = [await open(o.token), await open(u.token)];
    const req = await app.http.post(`/api/v1/groups/${g.id}/join`).set('Authorization', bearer(u)).send({});
    expect(await wo.next('group.join_requested')).toEqual({
      groupId: g.id,
      request: expect.objectContaining({ id: req.body.id }),
    });
    await app.http
      .post(`/api/v1/groups/${g.id}/join-requests/${req.body.id}/reject`)
      .set('Authorization', bearer(o));
    expect(await wu.next('group.join_rejected')).toEqual({ groupId: g.id, requestId: req.body.id });
  });
});
