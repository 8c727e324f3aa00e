import mysql from 'mysql2/promise';
import type { Config } from '../../src/config';
import { parseMysqlUrl } from '../../src/infra/mysql';
import { befriend, login, registerUser, testConfig } from '../helpers/app';
import { cleanupIsolation, spawnInstance, type ServerProcess } from '../helpers/processes';
import { eventually, TestClient } from '../helpers/ws-client';
import { validatedRequest } from '../helpers/openapi';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

/** One instance's API, for the shared test helpers. */
const api = (url: string) => ({ http: validatedRequest(url) });

needsServers('WebSocket gateway across server processes', () => {
  let config: Config;
  let a: ServerProcess;
  let b: ServerProcess;
  let viewer: { id: string; token: string };
  const clients: TestClient[] = [];
  const open = async (url: string, token: string) => {
    const c = await TestClient.connect(url, token);
    clients.push(c);
    await c.next('ready');
    return c;
  };
  const onlineVia = async (url: string, userId: string): Promise<boolean> => {
    const res = await validatedRequest(url)
      .get(`/api/v1/users/${userId}`)
      .set('Authorization', `Bearer ${viewer.token}`);
    if (res.status !== 200)
      throw new Error(`GET /api/v1/users/${userId}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.online as boolean;
  };

  beforeAll(async () => {
    config = testConfig({
      presence: { ttlSeconds: 2 },
      rateLimit: { registerPerMinute: 10_000 },
      ws: { accountCheckSeconds: 1 },
    });
    [a, b] = await Promise.all([spawnInstance(config), spawnInstance(config)]);
    viewer = await registerUser(api(a.url));
  }, 180_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await cleanupIsolation(config);
  });

  it('runs two instances with distinct ids', () => {
    expect(a.instanceId).not.toBe(b.instanceId);
    expect(a.url).not.toBe(b.url);
  });

  it('delivers an event sent on one instance to clients on the other, once per device', async () => {
    const u = await registerUser(api(a.url));
    const onB = await open(b.url, u.token);
    const onA = await open(a.url, u.token);
    await a.deliver([u.id], { type: 'test.event', data: { n: 1 } });
    expect(await onB.next('test.event')).toEqual({ type: 'test.event', data: { n: 1 } });
    expect(await onA.next('test.event')).toEqual({ type: 'test.event', data: { n: 1 } });
    await b.deliver([u.id], { type: 'test.event', data: { n: 2 } });
    expect((await onA.next('test.event')).data.n).toBe(2);
    expect((await onB.next('test.event')).data.n).toBe(2);
    expect(onA.frames.concat(onB.frames)).toEqual([]);
  });

  it('shares presence: a user connected to one instance is online through the other', async () => {
    const u = await registerUser(api(a.url));
    expect(await onlineVia(a.url, u.id)).toBe(false);
    const c = await open(b.url, u.token);
    expect(await onlineVia(a.url, u.id)).toBe(true);
    await c.close();
    await eventually(async () => (await onlineVia(a.url, u.id)) === false);
  });

  it('sends presence events across instances', async () => {
    const u = await registerUser(api(a.url));
    const friend = await registerUser(api(a.url));
    await befriend(api(a.url), u, friend);
    const f = await open(a.url, friend.token);
    const c = await open(b.url, u.token);
    expect((await f.next('presence')).data).toEqual({ userId: u.id, online: true, presence: 'online' });
    await c.close();
    expect((await f.next('presence')).data).toEqual({ userId: u.id, online: false, presence: 'offline' });
  });

  it("takes a SIGKILLed instance's users offline once its lease lapses, and tells their audience once", async () => {
    const doomed = await spawnInstance(config);
    const u = await registerUser(api(a.url));
    const friend = await registerUser(api(a.url));
    // Whichever survivor sweeps the dead instance announces it to the friends.
    await befriend(api(a.url), u, friend);
    const f = await open(a.url, friend.token);
    const bystander = await registerUser(api(a.url));
    const g = await open(b.url, bystander.token);
    const c = await TestClient.connect(doomed.url, u.token);
    await c.next('ready');
    expect((await f.next('presence')).data).toMatchObject({ userId: u.id, online: true });
    expect(await onlineVia(a.url, u.id)).toBe(true);
    await doomed.kill();
    expect((await c.closed).code).toBe(1006);
    // Reads check the dead instance's lease, so the user reads offline once it lapses; the wait bounds a
    // hang, it is not a measurement.
    const ttlMs = config.presence.ttlSeconds * 1000;
    await eventually(async () => (await onlineVia(a.url, u.id)) === false, 3 * ttlMs + 10_000);
    // A survivor sweeps the dead one's entries and tells the audience, once: a marker delivered after the
    // offline event closes the window in which a second one would show.
    expect((await f.next('presence', 3 * ttlMs + 10_000)).data).toEqual({
      userId: u.id,
      online: false,
      presence: 'offline',
    });
    await a.deliver([friend.id], { type: 'test.marker', data: {} });
    await f.next('test.marker');
    expect(f.frames.filter((x) => x.type === 'presence')).toEqual([]);
    // The dead instance may have stored messages it never pushed, to anyone: every connection on every
    // survivor is told to page from its last seq.
    await f.next('resync');
    await g.next('resync', 3 * ttlMs + 10_000);
  }, 180_000);

  it('closes the connections of a token logged out through one instance on the other, leaving other tokens open', async () => {
    const u = await registerUser(api(a.url));
    const otherToken = await login(api(a.url), u.username);
    const onB = await open(b.url, u.token);
    const onA = await open(a.url, u.token);
    const otherOnB = await open(b.url, otherToken);
    const res = await validatedRequest(a.url)
      .post('/api/v1/auth/logout')
      .set('Authorization', `Bearer ${u.token}`);
    expect(res.status).toBe(204);
    expect(await onB.closed).toEqual({ code: 4001, reason: 'token revoked' });
    expect(await onA.closed).toEqual({ code: 4001, reason: 'token revoked' });
    await a.deliver([u.id], { type: 'test.after', data: {} });
    expect(await otherOnB.next('test.after')).toEqual({ type: 'test.after', data: {} });
    expect(onA.frames.concat(onB.frames)).toEqual([]);
  });

  it('closes the other sessions on every instance on a password change through one, keeping the current one', async () => {
    const u = await registerUser(api(a.url));
    const oldToken = await login(api(a.url), u.username);
    const kept = await open(b.url, u.token);
    const oldOnA = await open(a.url, oldToken);
    const oldOnB = await open(b.url, oldToken);
    const res = await validatedRequest(a.url)
      .put('/api/v1/users/me/password')
      .set('Authorization', `Bearer ${u.token}`)
      .send({ oldPassword: 'Passw0rd!', newPassword: 'N3w-Secret!' });
    expect(res.status).toBe(204);
    expect(await oldOnA.closed).toEqual({ code: 4001, reason: 'token revoked' });
    expect(await oldOnB.closed).toEqual({ code: 4001, reason: 'token revoked' });
    await a.deliver([u.id], { type: 'test.after', data: {} });
    expect(await kept.next('test.after')).toEqual({ type: 'test.after', data: {} });
    kept.send({ type: 'ping' });
    expect((await kept.next('pong')).data).toEqual({});
  });

  describe('world channel', () => {
    const sendWorld = async (url: string, token: string, text: string) => {
      const res = await validatedRequest(url)
        .post('/api/v1/messages')
        .set('Authorization', `Bearer ${token}`)
        .send({
          conversationId: 'w:world',
          type: 'text',
          content: { text },
          clientMsgId: `w-${text.replace(/ /g, '-')}`,
        });
      if (res.status !== 201) throw new Error(`send failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as { id: string; seq: number };
    };
    const setWorldMute = async (url: string, token: string, muted: boolean) => {
      const res = await validatedRequest(url)
        [muted ? 'put' : 'delete']('/api/v1/conversations/w:world/mute')
        .set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(204);
    };
    const recall = async (url: string, token: string, messageId: string) => {
      const res = await validatedRequest(url)
        .post(`/api/v1/messages/${messageId}/recall`)
        .set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(200);
    };
    const messagesOf = (c: TestClient) => c.frames.filter((f) => f.type === 'message');

    it('reaches a user on another instance who has only ever opened /ws, and the sender on both instances', async () => {
      const sender = await registerUser(api(a.url));
      const listener = await registerUser(api(a.url));
      const onB = await open(b.url, listener.token);
      const senderOnB = await open(b.url, sender.token);
      const sent = await sendWorld(a.url, sender.token, 'hello');
      const got = await onB.next('message');
      expect(got.data).toMatchObject({ id: sent.id, conversationId: 'w:world', senderId: sender.id });
      expect((await senderOnB.next('message')).data).toMatchObject({ id: sent.id });
      // Sent from b this time: a's listener connection gets it through the broadcast channel.
      const onA = await open(a.url, listener.token);
      const second = await sendWorld(b.url, sender.token, 'again');
      expect((await onA.next('message')).data).toMatchObject({ id: second.id });
      expect((await onB.next('message')).data).toMatchObject({ id: second.id });
    });

    it('skips users who muted it, on every instance, from the moment of the mute until the unmute', async () => {
      const sender = await registerUser(api(a.url));
      const mutedEarly = await registerUser(api(a.url));
      const mutedLater = await registerUser(api(a.url));
      const listener = await registerUser(api(a.url));
      await setWorldMute(a.url, mutedEarly.token, true);
      const early = await open(b.url, mutedEarly.token);
      const later = await open(b.url, mutedLater.token);
      const laterOnA = await open(a.url, mutedLater.token);
      const other = await open(b.url, listener.token);
      // Muted through instance a while connected to both: b hears of it and reads the mute again.
      await setWorldMute(a.url, mutedLater.token, true);
      const quiet = await sendWorld(a.url, sender.token, 'quiet');
      expect((await other.next('message')).data).toMatchObject({ id: quiet.id });
      // A recall reaches everyone, muted or not; it is published after the message, so once it has arrived
      // the message would have too.
      await recall(a.url, sender.token, quiet.id);
      for (const c of [early, later, laterOnA, other]) {
        expect((await c.next('message.recalled')).data).toEqual({
          conversationId: 'w:world',
          messageId: quiet.id,
          seq: quiet.seq,
        });
      }
      expect([early, later, laterOnA].flatMap(messagesOf)).toEqual([]);
      await setWorldMute(b.url, mutedLater.token, false);
      const loud = await sendWorld(b.url, sender.token, 'loud');
      expect((await later.next('message')).data).toMatchObject({ id: loud.id });
      expect((await laterOnA.next('message')).data).toMatchObject({ id: loud.id });
      await recall(b.url, sender.token, loud.id);
      await early.next('message.recalled');
      expect(messagesOf(early)).toEqual([]);
    });
  });

  describe('account cut-off', () => {
    let db: mysql.Connection;
    beforeAll(async () => {
      const { options, database } = parseMysqlUrl(config.mysql.url);
      db = await mysql.createConnection({ ...options, database });
    });
    afterAll(async () => {
      await db.end();
    });
    const admin = async () => {
      const u = await registerUser(api(a.url));
      await db.query("UPDATE users SET role = 'admin' WHERE id = ?", [u.id]);
      return u;
    };
    const setStatus = (url: string, token: string, userId: string, body: unknown) =>
      validatedRequest(url)
        .put(`/api/v1/admin/users/${userId}/status`)
        .set('Authorization', `Bearer ${token}`)
        .send(body as object);

    it('closes every connection of a disabled account with 4003 on every instance, and refuses its calls', async () => {
      const boss = await admin();
      const u = await registerUser(api(a.url));
      const onA = await open(a.url, u.token);
      const onB = await open(b.url, u.token);
      const bystander = await open(b.url, viewer.token);
      const res = await setStatus(a.url, boss.token, u.id, { status: 'disabled' });
      expect(res.status).toBe(204);
      expect(await onA.closed).toEqual({ code: 4003, reason: 'account disabled' });
      expect(await onB.closed).toEqual({ code: 4003, reason: 'account disabled' });
      const me = await validatedRequest(b.url)
        .get('/api/v1/users/me')
        .set('Authorization', `Bearer ${u.token}`);
      expect(me.status).toBe(401);
      const send = await validatedRequest(b.url)
        .post('/api/v1/messages')
        .set('Authorization', `Bearer ${u.token}`)
        .send({ conversationId: 'w:world', type: 'text', content: { text: 'x' }, clientMsgId: 'cut-1' });
      expect(send.status).toBe(401);
      await expect(TestClient.connect(b.url, u.token)).rejects.toThrow('upgrade refused: 401');
      const [[row]] = await db.query<mysql.RowDataPacket[]>('SELECT status FROM users WHERE id = ?', [u.id]);
      expect(row.status).toBe('disabled');
      bystander.send({ type: 'ping' });
      expect((await bystander.next('pong')).data).toEqual({});
      // Enabled again, the same token works again.
      expect((await setStatus(b.url, boss.token, u.id, { status: 'active' })).status).toBe(204);
      await open(a.url, u.token);
    });

    it('closes the connections of an account deleted directly in the database within ws.accountCheckSeconds', async () => {
      const u = await registerUser(api(a.url));
      const onA = await open(a.url, u.token);
      const onB = await open(b.url, u.token);
      await db.query("UPDATE users SET status = 'deleted' WHERE id = ?", [u.id]);
      // The check runs every second here; the wait allows for a loaded machine.
      expect(await Promise.race([onA.closed, new Promise((r) => setTimeout(r, 15_000, 'open'))])).toEqual({
        code: 4003,
        reason: 'account disabled',
      });
      expect(await onB.closed).toEqual({ code: 4003, reason: 'account disabled' });
    });

    it('lets only administrators change a status, never their own, with validated input', async () => {
      const boss = await admin();
      const u = await registerUser(api(a.url));
      const plain = await setStatus(a.url, u.token, boss.id, { status: 'disabled' });
      expect(plain.status).toBe(403);
      expect(plain.body.error.code).toBe('FORBIDDEN');
      const self = await setStatus(a.url, boss.token, boss.id, { status: 'disabled' });
      expect(self.status).toBe(400);
      expect(self.body.error.code).toBe('VALIDATION_FAILED');
      const bad = await setStatus(a.url, boss.token, u.id, { status: 'banned', extra: 1 });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([
        'extra',
        'status',
      ]);
      const unknown = await setStatus(a.url, boss.token, '999999999', { status: 'disabled' });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('USER_NOT_FOUND');
      const [[row]] = await db.query<mysql.RowDataPacket[]>('SELECT status FROM users WHERE id = ?', [u.id]);
      expect(row.status).toBe('active');
    });
  });

  it('closes connections with 1001 on graceful stop and clears their presence at once', async () => {
    const leaving = await spawnInstance(config);
    const u = await registerUser(api(a.url));
    const c = await TestClient.connect(leaving.url, u.token);
    await c.next('ready');
    expect(await onlineVia(a.url, u.id)).toBe(true);
    await leaving.stop();
    expect((await c.closed).code).toBe(1001);
    expect(await onlineVia(a.url, u.id)).toBe(false);
  });
});
