import { moveToDistributed, MoveRefused } from '../../src/cli/move-to-distributed';
import {
  befriend,
  dropDatabase,
  EMBEDDED,
  isolation,
  login,
  registerUser,
  startTestApp,
  testConfig,
  type TestApp,
} from '../helpers/app';
import { privateConversationId } from '../helpers/ids';
import { describeWith } from '../helpers/servers';
import { bearer, createGroup, joinOpen, type User } from '../social/social.helpers';
import * as media from '../uploads/fixtures';

let n = 0;
const cmid = () => `mv-${Date.now()}-${++n}`;

/** The API views read before the move that must read the same after it (times and ids included). */
const VIEWS = (groupId: string, pcid: string) => ({
  alice: [
    `/api/v1/conversations/${pcid}/messages`,
    '/api/v1/friends',
    '/api/v1/friend-requests?direction=incoming',
    '/api/v1/users/me',
  ],
  bob: ['/api/v1/conversations', `/api/v1/groups/${groupId}`, `/api/v1/groups/${groupId}/members`],
  carol: [`/api/v1/conversations/g:${groupId}/messages`, '/api/v1/friend-requests?direction=outgoing'],
});

describeWith('mysql', 'redis')('npm run move-to-distributed', () => {
  const iso = isolation();
  const target = { dataDir: iso.dataDir, mysql: { url: iso.mysqlUrl }, redis: { prefix: iso.prefix } };
  let embedded: TestApp | null = null;
  let distributed: TestApp | null = null;
  let people: Record<'alice' | 'bob' | 'carol', User>;
  let revoked: string;
  let groupId: string;
  let pcid: string;
  let uploadUrl: string;
  let uploadBytes: Buffer;
  const before = new Map<string, unknown>();

  const get = (app: TestApp, u: { token: string }, url: string) =>
    app.http.get(url).set('Authorization', bearer(u));
  /** Every view of VIEWS as each user reads it, keyed `<user> <url>`. */
  const readViews = async (app: TestApp) => {
    const out = new Map<string, unknown>();
    for (const [who, urls] of Object.entries(VIEWS(groupId, pcid))) {
      for (const url of urls) {
        const res = await get(app, people[who as keyof typeof people], url);
        expect(res.status).toBe(200);
        out.set(`${who} ${url}`, res.body);
      }
    }
    return out;
  };
  const move = async () => {
    const lines: string[] = [];
    await moveToDistributed(testConfig(target, iso), (line) => lines.push(line));
    return lines;
  };

  beforeAll(async () => {
    embedded = await startTestApp({ ...EMBEDDED, dataDir: iso.dataDir });
    const app = embedded;
    const [alice, bob, carol] = [await registerUser(app), await registerUser(app), await registerUser(app)];
    people = { alice, bob, carol };
    await befriend(app, alice, bob, 'hello bob');
    const pending = await app.http
      .post('/api/v1/friend-requests')
      .set('Authorization', bearer(carol))
      .send({ userId: alice.id, message: 'me too?' });
    expect(pending.status).toBe(201);

    groupId = (await createGroup(app, alice, { name: 'Movers', joinPolicy: 'open', memberIds: [bob.id] })).id;
    await joinOpen(app, groupId, carol);

    const up = await app.http
      .post('/api/v1/uploads')
      .set('Authorization', bearer(alice))
      .attach('file', await media.png(40, 30), 'photo.png');
    expect(up.status).toBe(201);
    uploadUrl = up.body.url;

    pcid = privateConversationId(alice.id, bob.id);
    const send = async (u: User, conversationId: string, type: string, content: Record<string, unknown>) => {
      const res = await app.http
        .post('/api/v1/messages')
        .set('Authorization', bearer(u))
        .send({ conversationId, type, content, clientMsgId: cmid() });
      expect(res.status).toBe(201);
    };
    // the accepted request's greeting is seq 1
    await send(alice, pcid, 'text', { text: 'two' });
    await send(alice, pcid, 'image', { uploadId: up.body.id });
    await send(alice, pcid, 'text', { text: 'four' });
    await send(bob, `g:${groupId}`, 'text', { text: 'to the group' });
    await send(carol, `g:${groupId}`, 'text', { text: 'me too' });

    // bob has read up to the image and pinned the conversation
    const read = await app.http
      .post(`/api/v1/conversations/${pcid}/read`)
      .set('Authorization', bearer(bob))
      .send({ seq: 3 });
    expect(read.status).toBeLessThan(300);
    const pin = await app.http.put(`/api/v1/conversations/${pcid}/pin`).set('Authorization', bearer(bob));
    expect(pin.status).toBe(204);

    // a second session of alice's, signed out
    revoked = await login(app, alice.username, alice.password);
    const logout = await app.http.post('/api/v1/auth/logout').set('Authorization', `Bearer ${revoked}`);
    expect(logout.status).toBe(204);

    for (const [key, view] of await readViews(app)) before.set(key, view);
    const file = await get(app, bob, uploadUrl).buffer(true);
    expect(file.status).toBe(200);
    uploadBytes = file.body as Buffer;
  }, 60_000);

  afterAll(async () => {
    await embedded?.instance.stop().catch(() => undefined);
    if (distributed) await distributed.close();
    else await dropDatabase(iso.mysqlUrl).catch(() => undefined);
  });

  it('refuses while the embedded server is running', async () => {
    const refusal = await move().catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(MoveRefused);
    expect((refusal as Error).message).toMatch(/is in use: stop the server first$/);
  });

  it('moves everything, and the distributed instance shows the same deployment', async () => {
    await embedded!.instance.stop();
    embedded = null;

    const lines = await move();
    for (const line of [
      'users: 3',
      'friendships: 2',
      'friend_requests: 2',
      'chat_groups: 1',
      'group_members: 3',
      'messages: 6',
      'uploads: 1',
      'upload_refs: 1',
      'server_secrets: 1',
      'short-lived keys (Redis): 1',
    ]) {
      expect(lines).toContain(line);
    }
    expect(lines.at(-1)).toMatch(/^moved \d+ rows of \d+ tables into /);

    distributed = await startTestApp(target);
    const app = distributed;
    expect(app.instance.config.mode).toBe('distributed');
    const { alice, bob, carol } = people;

    // the old password signs in, the old token still works, the signed-out one does not
    await login(app, bob.username, bob.password);
    expect((await get(app, alice, '/api/v1/users/me')).status).toBe(200);
    expect((await get(app, { token: revoked }, '/api/v1/users/me')).status).toBe(401);

    // friends, requests, the group and its members, both histories, bob's chat list: as they were
    expect(await readViews(app)).toEqual(before);
    const bobList = before.get('bob /api/v1/conversations') as { items: Array<Record<string, unknown>> };
    expect(bobList.items.find((c) => c.conversationId === pcid)).toMatchObject({
      pinned: true,
      readSeq: 3,
      lastSeq: 4,
      unreadCount: 1,
    });

    const file = await get(app, bob, uploadUrl).buffer(true);
    expect(file.status).toBe(200);
    expect(Buffer.compare(file.body as Buffer, uploadBytes)).toBe(0);

    // new writes continue the seqs and the ids
    const next = await app.http
      .post('/api/v1/messages')
      .set('Authorization', bearer(bob))
      .send({ conversationId: pcid, type: 'text', content: { text: 'after the move' }, clientMsgId: cmid() });
    expect(next.status).toBe(201);
    expect(next.body.seq).toBe(5);
    const dave = await registerUser(app);
    expect(Number(dave.id)).toBeGreaterThan(Number(carol.id));
  }, 60_000);

  it('refuses a second run into a database that already holds users', async () => {
    await expect(move()).rejects.toThrow(/already holds 4 users: move into an empty database$/);
  });
});
