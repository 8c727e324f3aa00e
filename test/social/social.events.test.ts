import { privateConversationId } from '../helpers/ids';
import { TestClient } from '../helpers/ws-client';
import { befriend, startTestApp, type TestApp } from '../helpers/app';
import { bearer, createGroup, joinOpen, users } from './social.helpers';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

needsServers('social events over the WebSocket', () => {
  let app: TestApp;
  const clients: TestClient[] = [];
  const open = async (token: string) => {
    const c = await TestClient.open(app, token);
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
    const event = await wb.event<{ id: string; from: { id: string }; to: { id: string }; message: string }>(
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
    const accepted = await wa.event('friend.accepted');
    expect(accepted).toEqual({
      requestId: req.body.id,
      userId: b.id,
      friend: { user: expect.objectContaining({ id: b.id }), remark: null, since: expect.any(String) },
    });
    const history = await app.http
      .get(`/api/v1/conversations/${privateConversationId(a.id, b.id)}/messages`)
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
    await wb.event('friend.request');
    await app.http
      .post(`/api/v1/friend-requests/${req.body.id}/reject`)
      .set('Authorization', bearer(b))
      .send({ reply: 'sorry' });
    expect(await wa.event('friend.rejected')).toEqual({
      requestId: req.body.id,
      userId: b.id,
      reply: 'sorry',
    });
    // A later event to b proves the rejection was never sent there.
    await app.http.post('/api/v1/friend-requests').set('Authorization', bearer(a)).send({ userId: b.id });
    await wb.event('friend.request');
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
    const accepted = await wa.event<{ userId: string; friend: { user: { id: string } } }>('friend.accepted');
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
    expect(await wb.event('friend.removed')).toEqual({ userId: a.id });
  });

  it('presence changes reach friends through the audience the friends module supplies', async () => {
    const [a, b] = await users(app, 2);
    await befriend(app, a, b);
    const wb = await open(b.token);
    await open(a.token);
    expect(await wb.event<{ userId: string }>('presence', (d) => d.userId === a.id)).toEqual(
      expect.objectContaining({ userId: a.id, online: true }),
    );
  });

  it('an invisible user connecting and disconnecting sends friends no presence, and reads offline', async () => {
    const [a, b, w] = await users(app, 3);
    await befriend(app, a, b);
    await befriend(app, w, b);
    const invisible = await app.http
      .patch('/api/v1/users/me')
      .set('Authorization', bearer(a))
      .send({ presence: 'invisible' });
    expect(invisible.status).toBe(200);
    const wb = await open(b.token);
    const wa = await open(a.token);
    // w is visible: its presence events are markers, each closing a window in which a's would have come.
    const ww = await open(w.token);
    await wb.event<{ userId: string }>(
      'presence',
      (d) => d.userId === w.id && (d as { online?: boolean }).online === true,
    );
    const seen = await app.http.get(`/api/v1/users/${a.id}`).set('Authorization', bearer(b));
    expect(seen.body).toMatchObject({ online: false, presence: 'offline' });
    await wa.close();
    await ww.close();
    await wb.event<{ userId: string }>(
      'presence',
      (d) => d.userId === w.id && (d as { online?: boolean }).online === false,
    );
    await wb.ping();
    expect(wb.types()).not.toContain('presence');
  });

  it('a friend the user blocks does not hear their presence', async () => {
    const [a, b, c] = await users(app, 3);
    await befriend(app, a, b);
    await befriend(app, a, c);
    await app.http.put(`/api/v1/blocks/${b.id}`).set('Authorization', bearer(a));
    const [wb, wc] = [await open(b.token), await open(c.token)];
    await open(a.token);
    await wc.event<{ userId: string }>('presence', (d) => d.userId === a.id);
    expect(await app.instance.services.friends.presenceAudience(a.id)).toEqual([c.id]);
    // Once the ping is answered, a presence event sent to b before it would have arrived.
    await wb.ping();
    expect(wb.types()).not.toContain('presence');
  });

  it('group.member_joined, group.updated, group.member_removed and group.dissolved reach the members', async () => {
    const [o, m, j] = await users(app, 3);
    await befriend(app, o, m);
    const g = await createGroup(app, o, { joinPolicy: 'open', memberIds: [m.id] });
    const [wo, wm, wj] = [await open(o.token), await open(m.token), await open(j.token)];
    await joinOpen(app, g.id, j);
    for (const w of [wo, wm, wj]) {
      const joined = await w.event<{ groupId: string; member: { user: { id: string }; role: string } }>(
        'group.member_joined',
      );
      expect(joined).toEqual({ groupId: g.id, member: expect.objectContaining({ role: 'member' }) });
      expect(joined.member.user.id).toBe(j.id);
    }
    await app.http
      .put(`/api/v1/groups/${g.id}/mute`)
      .set('Authorization', bearer(o))
      .send({ mutedAll: true });
    expect(await wm.event('group.updated')).toEqual({
      groupId: g.id,
      group: expect.objectContaining({ mutedAll: true }),
    });
    await app.http.delete(`/api/v1/groups/${g.id}/members/${j.id}?ban=true`).set('Authorization', bearer(o));
    for (const w of [wm, wj]) {
      expect(await w.event('group.member_removed')).toEqual({ groupId: g.id, userId: j.id, banned: true });
    }
    await app.http.post(`/api/v1/groups/${g.id}/leave`).set('Authorization', bearer(m));
    expect(await wo.event('group.member_left')).toEqual({ groupId: g.id, userId: m.id });
    await app.http.delete(`/api/v1/groups/${g.id}`).set('Authorization', bearer(o));
    expect(await wo.event('group.dissolved')).toEqual({ groupId: g.id });
  });

  it('group.created reaches the owner and the initial members, not their other friends', async () => {
    const [o, m1, m2, outsider] = await users(app, 4);
    for (const u of [m1, m2, outsider]) await befriend(app, o, u);
    const [wo, w1, w2, wx] = [
      await open(o.token),
      await open(m1.token),
      await open(m2.token),
      await open(outsider.token),
    ];
    const res = await app.http
      .post('/api/v1/groups')
      .set('Authorization', bearer(o))
      .send({ name: 'Launch', joinPolicy: 'invite', memberIds: [m1.id, m2.id] });
    expect(res.status).toBe(201);
    expect(res.body).toEqual(expect.objectContaining({ ownerId: o.id, memberCount: 3 }));
    for (const w of [wo, w1, w2]) {
      expect(await w.event('group.created')).toEqual({ groupId: res.body.id, group: res.body });
    }
    await wx.ping();
    await wx.quiet(200);
    expect(wx.types()).not.toContain('group.created');
  });

  it('group.member_updated reaches every member on a role change, a nickname and a mute', async () => {
    const [o, m, n] = await users(app, 3);
    await befriend(app, o, m);
    await befriend(app, o, n);
    const g = await createGroup(app, o, { memberIds: [m.id, n.id] });
    const ws = [await open(o.token), await open(m.token), await open(n.token)];
    const patch = async (actor: { token: string }, target: string, body: object) => {
      const res = await app.http
        .patch(`/api/v1/groups/${g.id}/members/${target}`)
        .set('Authorization', bearer(actor))
        .send(body);
      expect(res.status).toBe(200);
      return res.body as {
        user: { id: string };
        role: string;
        nickname: string | null;
        mutedUntil: string | null;
      };
    };
    const everyoneGets = async (member: object) => {
      for (const w of ws) expect(await w.event('group.member_updated')).toEqual({ groupId: g.id, member });
    };

    // Role change by the owner.
    const promoted = await patch(o, m.id, { role: 'admin' });
    expect([promoted.user.id, promoted.role]).toEqual([m.id, 'admin']);
    await everyoneGets(promoted);

    // A member's own nickname.
    const named = await patch(n, n.id, { nickname: 'Nico' });
    expect([named.user.id, named.nickname]).toEqual([n.id, 'Nico']);
    await everyoneGets(named);

    // A mute by the new admin, then the unmute.
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const muted = await patch(m, n.id, { mutedUntil: until });
    expect([muted.user.id, muted.mutedUntil, muted.nickname]).toEqual([n.id, until, 'Nico']);
    await everyoneGets(muted);
    const unmuted = await patch(m, n.id, { mutedUntil: null });
    expect(unmuted.mutedUntil).toBeNull();
    await everyoneGets(unmuted);
  });

  it('a PATCH that changes nothing sends no group.updated nor group.member_updated', async () => {
    const [o, m] = await users(app, 2);
    await befriend(app, o, m);
    const g = await createGroup(app, o, { memberIds: [m.id], name: 'Same' });
    const wm = await open(m.token);
    const patch = async (path: string, body: object) => {
      const res = await app.http
        .patch(`/api/v1/groups/${g.id}${path}`)
        .set('Authorization', bearer(o))
        .send(body);
      expect(res.status).toBe(200);
      return res.body;
    };
    await patch('', { name: 'Same', joinPolicy: g.joinPolicy, maxMembers: g.maxMembers });
    await patch('', {});
    await patch(`/members/${o.id}`, {});
    await patch(`/members/${m.id}`, { role: 'member' });
    await patch(`/members/${m.id}`, { mutedUntil: null });
    // A real change after the idle ones: it is the first event the member gets.
    const renamed = await patch('', { name: 'Other' });
    expect(await wm.event('group.updated')).toEqual({ groupId: g.id, group: renamed });
    await patch(`/members/${m.id}`, { role: 'admin' });
    const updated = await wm.event<{ member: { role: string } }>('group.member_updated');
    expect(updated.member.role).toBe('admin');
    expect(wm.types().filter((t) => t.startsWith('group.'))).toEqual([]);
  });

  it('blocking (and unblocking) someone sends the blocked user no event at all', async () => {
    const [a, b] = await users(app, 2);
    await befriend(app, a, b);
    // They share a group too, so a group event would also show.
    await createGroup(app, a, { memberIds: [b.id] });
    const wa = await open(a.token);
    const wb = await open(b.token);
    await wb.ping();
    wb.drain();

    const blocked = await app.http.put(`/api/v1/blocks/${b.id}`).set('Authorization', bearer(a));
    expect(blocked.status).toBe(204);
    // The pong comes after anything the server had sent b before; the short wait covers other instances.
    await wb.ping();
    expect(await wb.quiet(300)).toEqual([]);

    const unblocked = await app.http.delete(`/api/v1/blocks/${b.id}`).set('Authorization', bearer(a));
    expect(unblocked.status).toBe(204);
    await wb.ping();
    expect(await wb.quiet(300)).toEqual([]);
    // The blocker's own connection gets nothing about it either.
    await wa.ping();
    expect(wa.types().filter((t) => t !== 'presence')).toEqual([]);
  });

  it('join requests reach the owner and admins; a rejection reaches the requester', async () => {
    const [o, u] = await users(app, 2);
    const g = await createGroup(app, o, { joinPolicy: 'approval' });
    const [wo, wu] = [await open(o.token), await open(u.token)];
    const req = await app.http.post(`/api/v1/groups/${g.id}/join`).set('Authorization', bearer(u)).send({});
    expect(await wo.event('group.join_requested')).toEqual({
      groupId: g.id,
      request: expect.objectContaining({ id: req.body.id }),
    });
    await app.http
      .post(`/api/v1/groups/${g.id}/join-requests/${req.body.id}/reject`)
      .set('Authorization', bearer(o));
    expect(await wu.event('group.join_rejected')).toEqual({ groupId: g.id, requestId: req.body.id });
  });
});
