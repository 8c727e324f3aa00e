import type { Response } from 'supertest';
import { TestClient } from '../helpers/ws-client';
import { befriend, registerUser, startTestApp, type TestApp } from '../helpers/app';
import { bearer, createGroup, users, type User } from '../social/social.helpers';
import { privateConversationId } from '../helpers/ids';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

function expectLimited(res: Response): void {
  expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
  const retry = Number(res.headers['retry-after']);
  expect(Number.isInteger(retry) && retry >= 1).toBe(true);
}

let clientMsg = 0;
function sendBody(conversationId: string, text = 'hi') {
  return { conversationId, type: 'text', content: { text }, clientMsgId: `rl-${Date.now()}-${++clientMsg}` };
}

const LIMITS = {
  rateLimit: {
    registerPerMinute: 100000,
    messagesPerSecond: 2,
    friendRequestsPerMinute: 2,
    joinRequestsPerMinute: 2,
    groupCreationsPerMinute: 2,
    profileChangesPerMinute: 2,
    typingIntervalSeconds: 60,
  },
};

needsServers('per-user write limits', () => {
  let app: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    app = await startTestApp(LIMITS);
    // A second instance of the same deployment: the limits hold across instances.
    second = await startTestApp(LIMITS, { shareWith: app });
  });
  afterAll(async () => {
    await second.close();
    await app.close();
  });

  /** Fills the user's message budget for the next minute, as a burst on any instance would. */
  async function exhaustMessages(userId: string): Promise<void> {
    const key = app.instance.redis.keys.key('rl', 'messages', userId);
    await app.instance.redis.command.set(key, 1000, 'PX', 60_000);
  }

  describe('messages (RATE_LIMIT_MESSAGES_PER_SECOND)', () => {
    let a: User;
    let b: User;
    let cid: string;
    beforeEach(async () => {
      [a, b] = await users(app, 2);
      await befriend(app, a, b);
      cid = privateConversationId(a.id, b.id);
    });

    it('answers a burst past the limit with 429 RATE_LIMITED and Retry-After, storing only what passed', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          app.http.post('/api/v1/messages').set('Authorization', bearer(a)).send(sendBody(cid)),
        ),
      );
      const passed = results.filter((r) => r.status === 201);
      const limited = results.filter((r) => r.status !== 201);
      expect(passed.length).toBeGreaterThan(0);
      expect(limited.length).toBeGreaterThan(0);
      for (const r of limited) expectLimited(r);
      const history = await app.http
        .get(`/api/v1/conversations/${cid}/messages?limit=100`)
        .set('Authorization', bearer(a));
      expect(history.body.items).toHaveLength(passed.length);
    });

    it('shares one budget between REST and WS sends, on every instance', async () => {
      await exhaustMessages(a.id);
      expectLimited(
        await app.http.post('/api/v1/messages').set('Authorization', bearer(a)).send(sendBody(cid)),
      );
      expectLimited(
        await second.http.post('/api/v1/messages').set('Authorization', bearer(a)).send(sendBody(cid)),
      );
      const ws = await TestClient.connect(second.instance.url, a.token);
      await ws.next('ready');
      ws.ws.send(JSON.stringify({ type: 'send', id: 's1', data: sendBody(cid) }));
      const err = await ws.next('error');
      expect(err.data).toEqual(expect.objectContaining({ id: 's1', code: 'RATE_LIMITED' }));
      ws.ws.close();
      // Another user's budget is untouched.
      const other = await app.http
        .post('/api/v1/messages')
        .set('Authorization', bearer(b))
        .send(sendBody(cid));
      expect(other.status).toBe(201);
      const history = await app.http
        .get(`/api/v1/conversations/${cid}/messages`)
        .set('Authorization', bearer(a));
      expect(history.body.items.map((m: { senderId: string }) => m.senderId)).toEqual([b.id]);
    });

    it('counts WS sends: a burst of frames gets RATE_LIMITED error frames past the limit', async () => {
      const ws = await TestClient.connect(app.instance.url, a.token);
      await ws.next('ready');
      for (let i = 0; i < 12; i++)
        ws.ws.send(JSON.stringify({ type: 'send', id: `f${i}`, data: sendBody(cid) }));
      const answers = [];
      for (let i = 0; i < 12; i++) {
        const f = await ws.next();
        if (f.type === 'ack' || f.type === 'error') answers.push(f);
        else i--;
      }
      const errors = answers.filter((f) => f.type === 'error');
      expect(errors.length).toBeGreaterThan(0);
      expect(answers.some((f) => f.type === 'ack')).toBe(true);
      for (const e of errors) expect(e.data.code).toBe('RATE_LIMITED');
      ws.ws.close();
    });
  });

  it('limits friend requests per user across instances', async () => {
    const [a, ...targets] = await users(app, 4);
    const request = (via: TestApp, to: User) =>
      via.http.post('/api/v1/friend-requests').set('Authorization', bearer(a)).send({ userId: to.id });
    expect((await request(app, targets[0])).status).toBe(201);
    expect((await request(second, targets[1])).status).toBe(201);
    expectLimited(await request(app, targets[2]));
    const [rows] = await app.instance.mysql.query(
      'SELECT COUNT(*) AS n FROM friend_requests WHERE from_user_id = ?',
      [a.id],
    );
    expect(Number((rows as Array<{ n: number }>)[0].n)).toBe(2);
  });

  it('counts only requests that pass validation', async () => {
    const [a, b] = await users(app, 2);
    for (let i = 0; i < 3; i++) {
      const bad = await app.http
        .post('/api/v1/friend-requests')
        .set('Authorization', bearer(a))
        .send({ userId: 'x' });
      expect(bad.status).toBe(400);
    }
    const ok = await app.http
      .post('/api/v1/friend-requests')
      .set('Authorization', bearer(a))
      .send({ userId: b.id });
    expect(ok.status).toBe(201);
  });

  it('limits group creation per user', async () => {
    const [a] = await users(app, 1);
    await createGroup(app, a);
    await createGroup(app, a);
    expectLimited(
      await app.http.post('/api/v1/groups').set('Authorization', bearer(a)).send({ name: 'Third' }),
    );
    const [rows] = await app.instance.mysql.query(
      'SELECT COUNT(*) AS n FROM chat_groups WHERE owner_id = ?',
      [a.id],
    );
    expect(Number((rows as Array<{ n: number }>)[0].n)).toBe(2);
  });

  it('limits joins and join requests per user', async () => {
    const [o1, o2, joiner] = await users(app, 3);
    const ids: string[] = [];
    // Two owners, each within their own creation limit.
    for (const o of [o1, o1, o2]) ids.push((await createGroup(app, o, { joinPolicy: 'approval' })).id);
    const join = (id: string) =>
      app.http.post(`/api/v1/groups/${id}/join`).set('Authorization', bearer(joiner)).send({});
    expect((await join(ids[0])).status).toBe(202);
    expect((await join(ids[1])).status).toBe(202);
    expectLimited(await join(ids[2]));
  });

  it('limits profile changes per user', async () => {
    const u = await registerUser(app);
    const patch = (nickname: string) =>
      app.http.patch('/api/v1/users/me').set('Authorization', bearer(u)).send({ nickname });
    expect((await patch('One')).status).toBe(200);
    expect((await patch('Two')).status).toBe(200);
    expectLimited(await patch('Three'));
    const me = await app.http.get('/api/v1/users/me').set('Authorization', bearer(u));
    expect(me.body.nickname).toBe('Two');
  });

  it('passes one typing event per user and conversation per interval and drops the rest without an error', async () => {
    const [a, b, c] = await users(app, 3);
    await befriend(app, a, b);
    await befriend(app, a, c);
    const cidOf = (x: User, y: User) => privateConversationId(x.id, y.id);
    const [wa, wb, wc] = [
      await TestClient.open(app, a.token),
      await TestClient.open(app, b.token),
      await TestClient.open(app, c.token),
    ];
    const typing = (conversationId: string) =>
      wa.socket.send(JSON.stringify({ type: 'typing', data: { conversationId } }));
    for (let i = 0; i < 3; i++) typing(cidOf(a, b));
    typing(cidOf(a, c));
    expect(await wb.event('typing')).toEqual({ conversationId: cidOf(a, b), userId: a.id });
    expect(await wc.event('typing')).toEqual({ conversationId: cidOf(a, c), userId: a.id });
    await expect(wb.event('typing', () => true, 1500)).rejects.toThrow(/no typing frame/);
    await wa.ping();
    expect(wa.types()).not.toContain('error');
    await Promise.all([wa.close(), wb.close(), wc.close()]);
  });
});
