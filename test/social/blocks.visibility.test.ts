import { TestClient } from '../helpers/ws-client';
import { befriend, startTestApp, type TestApp } from '../helpers/app';
import { bearer, createGroup, users, type User } from './social.helpers';
import { privateConversationId } from '../helpers/ids';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

/** Blocking hides the blocker: the blocked user gets none of their receipts, typing or presence. */
needsServers('Blocks hide the blocker', () => {
  let app: TestApp;
  const sockets: TestClient[] = [];
  const open = async (u: User) => {
    const c = await TestClient.open(app, u.token);
    sockets.push(c);
    return c;
  };
  const as = (u: User) => ({
    get: (path: string) => app.http.get(path).set('Authorization', bearer(u)),
    post: (path: string, body: object = {}) => app.http.post(path).set('Authorization', bearer(u)).send(body),
    put: (path: string) => app.http.put(path).set('Authorization', bearer(u)),
    del: (path: string) => app.http.delete(path).set('Authorization', bearer(u)),
  });
  const send = async (u: User, conversationId: string, text: string) => {
    const res = await as(u).post('/api/v1/messages', {
      conversationId,
      type: 'text',
      content: { text },
      clientMsgId: `${u.id}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    });
    expect(res.status).toBe(201);
    return res.body as { seq: number };
  };
  const pcid = (x: User, y: User) => privateConversationId(x.id, y.id);

  /** A (the blocker) is friends with B (the blocked) and C; all three share a group. */
  const trio = async () => {
    const [a, b, c] = await users(app, 3);
    await befriend(app, a, b);
    await befriend(app, a, c);
    const group = await createGroup(app, a, { memberIds: [b.id, c.id] });
    return { a, b, c, gcid: `g:${group.id}`, groupId: group.id };
  };

  beforeAll(async () => {
    // Typing passes every time here: the test types in one conversation several times within seconds.
    app = await startTestApp({ rateLimit: { registerPerMinute: 100000, typingIntervalSeconds: 0 } });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.socket.close();
  });
  afterAll(async () => {
    await app.close();
  });

  it("sends the blocked user none of the blocker's read receipts or typing notices, in groups and in private", async () => {
    const { a, b, c, gcid } = await trio();
    const onA = await open(a);
    const onB = await open(b);
    const onC = await open(c);
    const { seq } = await send(c, gcid, 'hello group');
    const { seq: pseq } = await send(a, pcid(a, b), 'hello b');

    // Before the block B hears A typing and reading.
    onA.socket.send(JSON.stringify({ type: 'typing', data: { conversationId: gcid } }));
    expect(await onB.event('typing', (d) => d.userId === a.id)).toEqual({
      conversationId: gcid,
      userId: a.id,
    });

    expect((await as(a).put(`/api/v1/blocks/${b.id}`)).status).toBe(204);
    await onB.ping();
    onB.drain();

    onA.socket.send(JSON.stringify({ type: 'typing', data: { conversationId: gcid } }));
    onA.socket.send(JSON.stringify({ type: 'typing', data: { conversationId: pcid(a, b) } }));
    expect(await onC.event('typing', (d) => d.userId === a.id)).toEqual({
      conversationId: gcid,
      userId: a.id,
    });
    expect((await as(a).post(`/api/v1/conversations/${gcid}/read`, { seq })).status).toBe(204);
    expect((await as(a).post(`/api/v1/conversations/${pcid(a, b)}/read`, { seq: pseq })).status).toBe(204);
    expect(await onC.event('read', (d) => d.userId === a.id)).toEqual({
      conversationId: gcid,
      userId: a.id,
      seq,
    });
    // The private typing frame was handled before the group read pushed anything (frames of one connection
    // are read in order), and everything pushed to B before this message has arrived with it.
    await send(c, gcid, 'marker');
    await onB.event('message', (d) => d.senderId === c.id);
    await onB.ping();
    expect(onB.types().filter((t) => t === 'typing' || t === 'read')).toEqual([]);
    // B's own receipts still reach A: only the blocker is hidden.
    expect((await as(b).post(`/api/v1/conversations/${gcid}/read`, { seq })).status).toBe(204);
    expect(await onA.event('read', (d) => d.userId === b.id)).toEqual({
      conversationId: gcid,
      userId: b.id,
      seq,
    });

    // Unblocked, B hears A again.
    expect((await as(a).del(`/api/v1/blocks/${b.id}`)).status).toBe(204);
    onA.socket.send(JSON.stringify({ type: 'typing', data: { conversationId: gcid } }));
    expect(await onB.event('typing', (d) => d.userId === a.id)).toEqual({
      conversationId: gcid,
      userId: a.id,
    });
  });

  it('shows the blocker offline to the blocked user in the profile, friends, members and chat list', async () => {
    const { a, b, c, groupId } = await trio();
    await send(a, pcid(a, b), 'so you have a chat line');
    await open(a);
    const onlineAs = async (viewer: User) => {
      const profile = (await as(viewer).get(`/api/v1/users/${a.id}`)).body;
      const friend = (await as(viewer).get('/api/v1/friends?all=true')).body.items.find(
        (f: { user: { id: string } }) => f.user.id === a.id,
      ).user;
      const member = (await as(viewer).get(`/api/v1/groups/${groupId}/members?limit=100`)).body.items.find(
        (m: { user: { id: string } }) => m.user.id === a.id,
      ).user;
      return [profile, friend, member].map((u: { online: boolean; presence: string }) => [
        u.online,
        u.presence,
      ]);
    };
    expect(await onlineAs(b)).toEqual(Array(3).fill([true, 'online']));
    expect((await as(a).put(`/api/v1/blocks/${b.id}`)).status).toBe(204);
    expect(await onlineAs(b)).toEqual(Array(3).fill([false, 'offline']));
    expect(await onlineAs(c)).toEqual(Array(3).fill([true, 'online']));
    const chats = (await as(b).get('/api/v1/conversations')).body.items;
    const line = chats.find((x: { conversationId: string }) => x.conversationId === pcid(a, b));
    expect(line.peer).toMatchObject({ id: a.id, online: false, presence: 'offline' });
    // The blocker still sees the blocked user as they are.
    await open(b);
    expect((await as(a).get(`/api/v1/users/${b.id}`)).body).toMatchObject({ online: true });
  });

  it('shows the blocker offline in group member events sent to the blocked user, online to others', async () => {
    const { a, b, c, groupId } = await trio();
    await open(a);
    const onB = await open(b);
    const onC = await open(c);
    expect((await as(a).put(`/api/v1/blocks/${b.id}`)).status).toBe(204);
    const renamed = await app.http
      .patch(`/api/v1/groups/${groupId}/members/${a.id}`)
      .set('Authorization', bearer(a))
      .send({ nickname: 'boss' });
    expect(renamed.status).toBe(200);
    const seenBy = async (client: TestClient) =>
      (
        await client.event<{ member: { user: { id: string; online: boolean; presence: string } } }>(
          'group.member_updated',
          (d) => (d as { member: { user: { id: string } } }).member.user.id === a.id,
        )
      ).member.user;
    expect(await seenBy(onB)).toMatchObject({ online: false, presence: 'offline' });
    expect(await seenBy(onC)).toMatchObject({ online: true, presence: 'online' });
  });

  it('sends the blocked user no presence events of the blocker', async () => {
    const { a, b, c } = await trio();
    const onB = await open(b);
    const onC = await open(c);
    expect((await as(a).put(`/api/v1/blocks/${b.id}`)).status).toBe(204);
    const onA = await open(a);
    expect(await onC.event('presence', (d) => d.userId === a.id)).toMatchObject({ online: true });
    onA.socket.close();
    expect(await onC.event('presence', (d) => d.userId === a.id)).toMatchObject({ online: false });
    await onB.ping();
    expect(onB.types().filter((t) => t === 'presence')).toEqual([]);
  });

  it('leaves the blocker out of the blocked user’s search, by nickname and by id', async () => {
    const nick = `Hider${Date.now() % 100000}`;
    const [a, b, c] = await users(app, 3);
    expect(
      (await app.http.patch('/api/v1/users/me').set('Authorization', bearer(a)).send({ nickname: nick }))
        .status,
    ).toBe(200);
    const found = async (viewer: User, q: string) =>
      (await as(viewer).get(`/api/v1/users?q=${encodeURIComponent(q)}`)).body.items.map(
        (u: { id: string }) => u.id,
      );
    expect(await found(b, nick)).toEqual([a.id]);
    expect((await as(a).put(`/api/v1/blocks/${b.id}`)).status).toBe(204);
    expect(await found(b, nick)).toEqual([]);
    expect(await found(b, a.id)).toEqual([]);
    expect(await found(c, nick)).toEqual([a.id]);
    expect(await found(c, a.id)).toEqual([a.id]);
    // The blocked side stays findable by the blocker.
    expect(await found(a, b.id)).toEqual([b.id]);
    expect((await as(a).del(`/api/v1/blocks/${b.id}`)).status).toBe(204);
    expect(await found(b, nick)).toEqual([a.id]);
  });
});
