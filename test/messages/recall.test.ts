import { MessagesService } from '../../src/modules/messages/messages.service';
import { befriend, registerUser, startTestApp, type TestApp } from '../helpers/app';
import { privateConversationId } from '../helpers/ids';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

type User = Awaited<ReturnType<typeof registerUser>>;

const NO_LIMIT = { consume: async () => {}, tryConsume: async () => true };

let n = 0;
const cmid = () => `rc-${Date.now()}-${++n}`;

needsServers('recall follows the group roles and the recall window', () => {
  let app: TestApp;
  /** The service's clock, moved by the tests. */
  let now = Date.now();
  let service: MessagesService;
  const RECALL_SECONDS = 120;

  const auth = (u: User) => ({ Authorization: `Bearer ${u.token}` });
  const send = async (u: User, conversationId: string) => {
    const res = await app.http
      .post('/api/v1/messages')
      .set(auth(u))
      .send({ conversationId, type: 'text', content: { text: 'x' }, clientMsgId: cmid() });
    expect(res.status).toBe(201);
    return res.body as { id: string; createdAt: string };
  };
  /** Owner O, admins A1 and A2, plain members M1 and M2 in one group. */
  const team = async () => {
    const [owner, a1, a2, m1, m2] = await Promise.all(Array.from({ length: 5 }, () => registerUser(app)));
    for (const u of [a1, a2, m1, m2]) await befriend(app, owner, u);
    const g = await app.http
      .post('/api/v1/groups')
      .set(auth(owner))
      .send({ name: 'g', memberIds: [a1.id, a2.id, m1.id, m2.id] });
    expect(g.status).toBe(201);
    for (const a of [a1, a2]) {
      const res = await app.http
        .patch(`/api/v1/groups/${g.body.id}/members/${a.id}`)
        .set(auth(owner))
        .send({ role: 'admin' });
      expect(res.status).toBe(200);
    }
    return { owner, a1, a2, m1, m2, groupId: String(g.body.id), cid: `g:${g.body.id}` };
  };
  const recallAt = (at: number, u: User, messageId: string) => {
    now = at;
    return service.recall(u.id, messageId);
  };
  const late = (m: { createdAt: string }) => Date.parse(m.createdAt) + 86_400_000;

  beforeAll(async () => {
    app = await startTestApp({
      messages: { recallSeconds: RECALL_SECONDS },
      rateLimit: { registerPerMinute: 10_000 },
    });
    const s = app.instance.services;
    service = new MessagesService({
      store: s.messageStore,
      users: { publicUsersByIds: (ids) => s.accounts.publicUsersByIds(ids), roleOf: async () => 'user' },
      logger: app.instance.logger,
      recallSeconds: RECALL_SECONDS,
      worldEnabled: true,
      social: s.socialPolicy,
      groups: s.groups,
      uploads: s.uploads,
      events: app.instance.events,
      now: () => now,
      limits: { messages: NO_LIMIT, typing: NO_LIMIT },
    });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  it('lets anyone recall their own message until the window passes, and no later', async () => {
    const { m1, a1, owner, cid } = await team();
    for (const who of [m1, a1, owner]) {
      const kept = await send(who, cid);
      const gone = await send(who, cid);
      const sentAt = Date.parse(gone.createdAt);
      await expect(recallAt(sentAt + RECALL_SECONDS * 1000 - 1, who, gone.id)).resolves.toMatchObject({
        status: 'recalled',
      });
      await expect(recallAt(sentAt + RECALL_SECONDS * 1000, who, kept.id)).rejects.toMatchObject({
        code: 'RECALL_WINDOW_PASSED',
      });
      expect(await app.instance.services.messageStore.findById(kept.id)).toMatchObject({ status: 'normal' });
    }
  });

  it('lets an admin recall a plain member’s message at any time', async () => {
    const { m1, a1, cid } = await team();
    const m = await send(m1, cid);
    await expect(recallAt(late(m), a1, m.id)).resolves.toMatchObject({ status: 'recalled', content: null });
    expect(await app.instance.services.messageStore.findById(m.id)).toMatchObject({
      status: 'recalled',
      content: null,
    });
  });

  it('lets an admin recall the message of a member who has left', async () => {
    const { m2, a2, cid, groupId } = await team();
    const m = await send(m2, cid);
    expect((await app.http.post(`/api/v1/groups/${groupId}/leave`).set(auth(m2)).send({})).status).toBe(204);
    await expect(recallAt(late(m), a2, m.id)).resolves.toMatchObject({ status: 'recalled' });
  });

  it('refuses an admin on another admin’s or the owner’s message, even within the window', async () => {
    const { owner, a1, a2, cid } = await team();
    const byAdmin = await send(a2, cid);
    const byOwner = await send(owner, cid);
    for (const m of [byAdmin, byOwner]) {
      await expect(recallAt(Date.parse(m.createdAt), a1, m.id)).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect(await app.instance.services.messageStore.findById(m.id)).toMatchObject({ status: 'normal' });
    }
  });

  it('refuses a plain member on anyone else’s message', async () => {
    const { owner, a1, m1, m2, cid } = await team();
    for (const sender of [owner, a1, m2]) {
      const m = await send(sender, cid);
      await expect(recallAt(Date.parse(m.createdAt), m1, m.id)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    }
  });

  it('lets the owner recall an admin’s and a member’s message at any time', async () => {
    const { owner, a1, m1, cid } = await team();
    for (const sender of [a1, m1]) {
      const m = await send(sender, cid);
      await expect(recallAt(late(m), owner, m.id)).resolves.toMatchObject({ status: 'recalled' });
    }
  });

  it('refuses the other side of a private conversation', async () => {
    const [a, b] = [await registerUser(app), await registerUser(app)];
    await befriend(app, a, b);
    const cid = privateConversationId(a.id, b.id);
    const m = await send(a, cid);
    await expect(recallAt(Date.parse(m.createdAt), b, m.id)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
