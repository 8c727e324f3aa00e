import { privateConversationId, swappedPrivateConversationId } from '../helpers/ids';
import type { DeepPartial, Config } from '../../src/config';
import { startInstance, type Instance } from '../../src/server';
import { createLogger } from '../../src/shared/logger';
import { befriend as befriendThroughApi, registerUser, startTestApp, type TestApp } from '../helpers/app';
import { TestClient } from '../helpers/ws-client';
import { validatedRequest } from '../helpers/openapi';
import { describeWith, type Server } from '../helpers/servers';

type User = Awaited<ReturnType<typeof registerUser>>;

/** Where the suite's instances keep messages: extra config, and cleanup once the suite is done. */
export interface StoreSetup {
  overrides: DeepPartial<Config>;
  cleanup: () => Promise<void>;
}

/** What the setup needs to run (the embedded mode needs no server). */
export type Needs = Server[];

function pcid(a: User, b: User): string {
  return privateConversationId(a.id, b.id);
}

let n = 0;
function cmid(): string {
  return `cm-${Date.now()}-${++n}`;
}

/** The messaging API, over HTTP and WebSocket, against the store that `setup` selects. */
export function messagingSuite(
  name: string,
  setup: () => Promise<StoreSetup>,
  needs: Needs = ['mysql', 'redis'],
): void {
  describeWith(...needs)(`Messaging over HTTP and WS (${name})`, () => {
    let store: StoreSetup;
    let app: TestApp;
    const clients: TestClient[] = [];

    const as = (u: User) => ({
      get: (path: string) => app.http.get(path).set('Authorization', `Bearer ${u.token}`),
      post: (path: string, body: unknown = {}) =>
        app.http
          .post(path)
          .set('Authorization', `Bearer ${u.token}`)
          .send(body as object),
      put: (path: string) => app.http.put(path).set('Authorization', `Bearer ${u.token}`),
      del: (path: string) => app.http.delete(path).set('Authorization', `Bearer ${u.token}`),
      patch: (path: string, body: unknown) =>
        app.http
          .patch(path)
          .set('Authorization', `Bearer ${u.token}`)
          .send(body as object),
    });
    const send = (u: User, conversationId: string, text = 'hello', clientMsgId = cmid()) =>
      as(u).post('/api/v1/messages', { conversationId, type: 'text', content: { text }, clientMsgId });
    const user = () => registerUser(app);
    /** What a member reads back of a conversation's history (the stored state, through the API). */
    const stored = async (u: User, conversationId: string) => {
      const res = await as(u).get(`/api/v1/conversations/${conversationId}/messages?afterSeq=0&limit=100`);
      expect(res.status).toBe(200);
      return res.body.items as Array<{
        id: string;
        seq: number;
        senderId: string;
        status: string;
        content: unknown;
      }>;
    };
    const lastSeq = async (u: User, conversationId: string) =>
      (await stored(u, conversationId)).at(-1)?.seq ?? 0;
    const befriend = (a: User, b: User, message?: string) => befriendThroughApi(app, a, b, message);
    const friends = async () => {
      const a = await user();
      const b = await user();
      await befriend(a, b);
      return { a, b, cid: pcid(a, b) };
    };
    const group = async (owner: User, members: User[]) => {
      for (const m of members) await befriend(owner, m);
      const res = await as(owner).post('/api/v1/groups', {
        name: 'team',
        memberIds: members.map((m) => m.id),
      });
      expect(res.status).toBe(201);
      return { id: String(res.body.id), cid: `g:${res.body.id}` };
    };
    const connect = async (u: User) => {
      const c = await TestClient.connect(app.instance.url, u.token);
      clients.push(c);
      await c.next('ready');
      return c;
    };

    beforeAll(async () => {
      store = await setup();
      app = await startTestApp({ ...store.overrides, rateLimit: { registerPerMinute: 10_000 } });
    }, 60_000);
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close()));
    });
    afterAll(async () => {
      await app?.close();
      await store?.cleanup();
    });

    it('reports MongoDB in /readyz exactly when it holds the messages', async () => {
      const res = await app.http.get('/readyz');
      expect(res.status).toBe(200);
      if (store.overrides.mongodb?.uri) expect(res.body.checks.mongodb).toBe('ok');
      else expect(res.body.checks.mongodb).toBeUndefined();
    });

    describe('POST /api/v1/messages', () => {
      it('stores a message with seq 1 and returns it with 201', async () => {
        const { a, cid } = await friends();
        const clientMsgId = cmid();
        const res = await send(a, cid, 'hi there', clientMsgId);
        expect(res.status).toBe(201);
        expect(res.body).toEqual({
          id: expect.stringMatching(/^[0-9a-f]{32}$/),
          conversationId: cid,
          seq: 1,
          senderId: a.id,
          type: 'text',
          content: { text: 'hi there' },
          clientMsgId,
          createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
          status: 'normal',
        });
        expect(await stored(a, cid)).toMatchObject([
          { id: res.body.id, seq: 1, senderId: a.id, content: { text: 'hi there' } },
        ]);
      });

      it('returns the original with 200 for a repeated clientMsgId, never a duplicate', async () => {
        const { a, cid } = await friends();
        const first = await send(a, cid, 'once', 'retry-1');
        const again = await send(a, cid, 'changed', 'retry-1');
        expect(again.status).toBe(200);
        expect(again.body).toEqual(first.body);
        const parallel = await Promise.all(Array.from({ length: 10 }, () => send(a, cid, 'p', 'retry-2')));
        expect(parallel.filter((r) => r.status === 201)).toHaveLength(1);
        expect(new Set(parallel.map((r) => r.body.id)).size).toBe(1);
        expect(await lastSeq(a, cid)).toBe(2);
      });

      it('refuses a clientMsgId already used in another conversation with 409 CLIENT_MSG_ID_REUSED', async () => {
        const { a, b, cid } = await friends();
        const created = await as(a).post('/api/v1/groups', { name: 'team', memberIds: [b.id] });
        expect(created.status).toBe(201);
        const g = { cid: `g:${created.body.id}` };
        const first = await send(a, cid, 'to b', 'reused-1');
        expect(first.status).toBe(201);
        const other = await send(a, g.cid, 'to the group', 'reused-1');
        expect(other.status).toBe(409);
        expect(other.body.error.code).toBe('CLIENT_MSG_ID_REUSED');
        expect(await lastSeq(a, g.cid)).toBe(0);
        // The same conversation is still the idempotent retry, over REST and WS.
        const again = await send(a, cid, 'to b', 'reused-1');
        expect(again.status).toBe(200);
        expect(again.body).toEqual(first.body);
        const c = await connect(a);
        const frame = (clientMsgId: string, conversationId: string) =>
          c.send({
            type: 'send',
            id: clientMsgId + conversationId,
            data: { conversationId, type: 'text', content: { text: 'ws' }, clientMsgId },
          });
        frame('reused-1', g.cid);
        expect((await c.next('error')).data).toMatchObject({
          id: `reused-1${g.cid}`,
          code: 'CLIENT_MSG_ID_REUSED',
        });
        frame('reused-1', cid);
        expect((await c.next('ack')).data).toMatchObject({ message: { id: first.body.id } });
        expect(await lastSeq(a, g.cid)).toBe(0);
        expect(await lastSeq(a, cid)).toBe(1);
      });

      it('pushes the message again on a retry, in case the attempt that stored it died before its push', async () => {
        const { a, b, cid } = await friends();
        const peer = await connect(b);
        // Stored by an attempt whose push never happened (its worker was killed after the commit).
        const { message } = await app.instance.services.messageStore.append({
          conversationId: cid,
          senderId: a.id,
          type: 'text',
          content: { text: 'stored, never pushed' },
          clientMsgId: 'lost-push',
          participants: [a.id, b.id],
        });
        const retry = await send(a, cid, 'stored, never pushed', 'lost-push');
        expect(retry.status).toBe(200);
        expect(retry.body.id).toBe(message.id);
        expect((await peer.next('message')).data).toMatchObject({ id: message.id, seq: message.seq });
      });

      it('accepts every message type with valid content', async () => {
        const { a, cid } = await friends();
        const cases: Array<[string, Record<string, unknown>]> = [
          [
            'image',
            { url: 'https://cdn.example.com/a.png', width: 640, height: 480, size: 1234, mime: 'image/png' },
          ],
          ['voice', { url: 'https://cdn.example.com/a.ogg', duration: 3.5 }],
          [
            'video',
            { url: 'http://cdn.example.com/v.mp4', duration: 10, thumbUrl: 'https://cdn.example.com/t.jpg' },
          ],
          [
            'file',
            { url: 'https://cdn.example.com/f.pdf', name: 'f.pdf', size: 99, mime: 'application/pdf' },
          ],
          ['location', { latitude: -33.86, longitude: 151.2, label: 'Sydney' }],
          ['emoji', { code: 'smile' }],
          ['emoji', { url: 'https://cdn.example.com/sticker.gif' }],
        ];
        // What comes back: the fields given, every other field of the type present as null.
        const absent: Record<string, Record<string, null>> = {
          image: { uploadId: null },
          voice: { size: null, uploadId: null },
          video: { width: null, height: null, size: null, uploadId: null },
          file: { uploadId: null },
          location: {},
          emoji: { code: null, url: null },
        };
        for (const [type, content] of cases) {
          const res = await as(a).post('/api/v1/messages', {
            conversationId: cid,
            type,
            content,
            clientMsgId: cmid(),
          });
          expect({ type, status: res.status }).toEqual({ type, status: 201 });
          expect(res.body.content).toStrictEqual({ ...absent[type], ...content });
        }
      });

      it('returns, stores and pushes an image sent with only url with its other fields null', async () => {
        const { a, b, cid } = await friends();
        const peer = await connect(b);
        const res = await as(a).post('/api/v1/messages', {
          conversationId: cid,
          type: 'image',
          content: { url: 'https://cdn.example.com/only-url.png' },
          clientMsgId: cmid(),
        });
        expect(res.status).toBe(201);
        const content = {
          url: 'https://cdn.example.com/only-url.png',
          width: null,
          height: null,
          size: null,
          mime: null,
          uploadId: null,
        };
        expect(res.body.content).toStrictEqual(content);
        expect((await peer.next('message')).data.content).toStrictEqual(content);
        const history = await as(b).get(`/api/v1/conversations/${cid}/messages`);
        expect(history.body.items[0].content).toStrictEqual(content);
        const listed = (await as(b).get('/api/v1/conversations')).body.items.find(
          (i: { conversationId: string }) => i.conversationId === cid,
        );
        expect(listed.lastMessage.content).toStrictEqual(content);
      });

      it.each([
        ['an unknown type', { type: 'sticker', content: { text: 'x' } }],
        ['text too long', { type: 'text', content: { text: 'x'.repeat(4001) } }],
        ['blank text', { type: 'text', content: { text: '   ' } }],
        ['text as a number', { type: 'text', content: { text: 5 } }],
        ['an unknown content field', { type: 'text', content: { text: 'x', html: '<b>' } }],
        ['content as a string', { type: 'text', content: 'hello' }],
        ['a javascript: URL', { type: 'image', content: { url: 'javascript:alert(1)' } }],
        ['an ftp URL', { type: 'file', content: { url: 'ftp://x.example.com/f', name: 'f', size: 1 } }],
        ['a huge URL', { type: 'image', content: { url: `https://e.com/${'a'.repeat(3000)}` } }],
        ['a voice without duration', { type: 'voice', content: { url: 'https://e.com/a.ogg' } }],
        ['a latitude out of range', { type: 'location', content: { latitude: 91, longitude: 0 } }],
        ['a negative size', { type: 'file', content: { url: 'https://e.com/f', name: 'f', size: -1 } }],
        ['an emoji with code and url', { type: 'emoji', content: { code: 'x', url: 'https://e.com/s.gif' } }],
      ])('refuses %s with 400 VALIDATION_FAILED', async (_label, fields) => {
        const { a, cid } = await friends();
        const res = await as(a).post('/api/v1/messages', {
          conversationId: cid,
          clientMsgId: cmid(),
          ...fields,
        });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION_FAILED');
      });

      it('refuses unknown body fields, bad conversation ids and bad clientMsgIds with 400', async () => {
        const { a, cid } = await friends();
        const base = { conversationId: cid, type: 'text', content: { text: 'x' }, clientMsgId: cmid() };
        for (const body of [
          { ...base, extra: 1 },
          { ...base, conversationId: 'chat-1' },
          { ...base, conversationId: 5 },
          { ...base, clientMsgId: '' },
          { ...base, clientMsgId: 'x'.repeat(65) },
          { ...base, clientMsgId: 'has space' },
          { conversationId: cid, type: 'text', content: { text: 'x' } },
        ]) {
          const res = await as(a).post('/api/v1/messages', body);
          expect(res.status).toBe(400);
          expect(res.body.error.code).toBe('VALIDATION_FAILED');
        }
      });

      it('refuses a stranger with 403 NOT_FRIENDS', async () => {
        const a = await user();
        const b = await user();
        const res = await send(a, pcid(a, b));
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('NOT_FRIENDS');
      });

      it('refuses a sender the peer blocks with 403 BLOCKED, yet a retry of an earlier send gets its original', async () => {
        const { a, b, cid } = await friends();
        const before = await send(a, cid, 'before the block', 'pre-block');
        expect((await as(b).put(`/api/v1/blocks/${a.id}`)).status).toBe(204);
        const res = await send(a, cid);
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('BLOCKED');
        const retry = await send(a, cid, 'before the block', 'pre-block');
        expect(retry.status).toBe(200);
        expect(retry.body.id).toBe(before.body.id);
      });

      it('refuses a private conversation of two other users with 403 NOT_A_MEMBER', async () => {
        const { cid } = await friends();
        const c = await user();
        const res = await send(c, cid);
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('NOT_A_MEMBER');
      });

      it('answers 404 CONVERSATION_NOT_FOUND for an unknown group or a non-canonical private id', async () => {
        const { a, b } = await friends();
        const unknown = await send(a, 'g:999999999');
        expect(unknown.status).toBe(404);
        expect(unknown.body.error.code).toBe('CONVERSATION_NOT_FOUND');
        const reversed = await send(a, swappedPrivateConversationId(a.id, b.id));
        expect(reversed.status).toBe(404);
        expect(reversed.body.error.code).toBe('CONVERSATION_NOT_FOUND');
        const self = await send(a, `p:${a.id}:${a.id}`);
        expect(self.status).toBe(404);
      });

      it('lets group members speak and refuses outsiders (NOT_A_MEMBER) and muted members (MUTED)', async () => {
        const owner = await user();
        const m1 = await user();
        const m2 = await user();
        const g = await group(owner, [m1, m2]);
        expect((await send(m1, g.cid, 'hi group')).status).toBe(201);
        const outsider = await send(await user(), g.cid);
        expect(outsider.status).toBe(403);
        expect(outsider.body.error.code).toBe('NOT_A_MEMBER');

        const until = new Date(Date.now() + 3600_000).toISOString();
        expect(
          (await as(owner).patch(`/api/v1/groups/${g.id}/members/${m1.id}`, { mutedUntil: until })).status,
        ).toBe(200);
        const muted = await send(m1, g.cid);
        expect(muted.status).toBe(403);
        expect(muted.body.error.code).toBe('MUTED');

        expect((await as(owner).put(`/api/v1/groups/${g.id}/mute`).send({ mutedAll: true })).status).toBe(
          200,
        );
        const all = await send(m2, g.cid);
        expect(all.status).toBe(403);
        expect(all.body.error.code).toBe('MUTED');
        expect((await send(owner, g.cid, 'owner still speaks')).status).toBe(201);
      });

      it('gives 200 concurrent sends through two instances seq 1..200 exactly once each', async () => {
        const { a, b, cid } = await friends();
        const second: Instance = await startInstance(app.instance.config, createLogger({ level: 'silent' }));
        try {
          const other = validatedRequest(second.url);
          const results = await Promise.all(
            Array.from({ length: 200 }, (_, i) => {
              const u = i % 2 ? a : b;
              const client = i % 4 < 2 ? app.http : other;
              return client
                .post('/api/v1/messages')
                .set('Authorization', `Bearer ${u.token}`)
                .send({
                  conversationId: cid,
                  type: 'text',
                  content: { text: `m${i}` },
                  clientMsgId: `c200-${i}`,
                });
            }),
          );
          expect(results.map((r) => r.status).filter((s) => s !== 201)).toEqual([]);
          const seqs = results.map((r) => r.body.seq as number).sort((x, y) => x - y);
          expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        } finally {
          await second.stop();
        }
      }, 60_000);
    });

    describe('history and offline sync', () => {
      it('pages with afterSeq until nextCursor is null and recovers every message', async () => {
        const { a, b, cid } = await friends();
        for (let i = 1; i <= 45; i++) expect((await send(a, cid, `m${i}`)).status).toBe(201);
        const got: number[] = [];
        let cursor: string | null = '0';
        while (cursor !== null) {
          const res = await as(b).get(`/api/v1/conversations/${cid}/messages?afterSeq=${cursor}&limit=20`);
          expect(res.status).toBe(200);
          got.push(...res.body.items.map((m: { seq: number }) => m.seq));
          cursor = res.body.nextCursor;
        }
        expect(got).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
        const latest = await as(b).get(`/api/v1/conversations/${cid}/messages`);
        expect(latest.body.items.map((m: { seq: number }) => m.seq)).toEqual(
          Array.from({ length: 20 }, (_, i) => 26 + i),
        );
        expect(latest.body.nextCursor).toBe('26');
        const back = await as(b).get(`/api/v1/conversations/${cid}/messages?beforeSeq=26&limit=30`);
        expect(back.body.items.map((m: { seq: number }) => m.seq)).toEqual(
          Array.from({ length: 25 }, (_, i) => i + 1),
        );
        expect(back.body.nextCursor).toBeNull();
      });

      it('validates paging parameters and membership', async () => {
        const { a, cid } = await friends();
        for (const q of [
          'limit=0',
          'limit=101',
          'limit=abc',
          'afterSeq=-1',
          'beforeSeq=0',
          'afterSeq=1&beforeSeq=5',
        ]) {
          const res = await as(a).get(`/api/v1/conversations/${cid}/messages?${q}`);
          expect({ q, status: res.status }).toEqual({ q, status: 400 });
        }
        expect((await as(a).get('/api/v1/conversations/nope/messages')).status).toBe(400);
        const stranger = await as(await user()).get(`/api/v1/conversations/${cid}/messages`);
        expect(stranger.status).toBe(403);
        expect(stranger.body.error.code).toBe('NOT_A_MEMBER');
        expect((await as(a).get('/api/v1/conversations/g:999999999/messages')).body.error.code).toBe(
          'CONVERSATION_NOT_FOUND',
        );
      });
    });

    describe('chat list, read receipts, pin and mute', () => {
      it('lists conversations with peer, last message, unread excluding own, pinned first', async () => {
        const { a, b, cid } = await friends();
        const c = await user();
        await befriend(b, c);
        const cid2 = pcid(b, c);
        await send(a, cid, 'a1');
        await send(a, cid, 'a2');
        await send(b, cid, 'b1');
        await send(c, cid2, 'c1');
        const list = await as(b).get('/api/v1/conversations');
        expect(list.status).toBe(200);
        expect(list.body.nextCursor).toBeNull();
        const privs = list.body.items.filter((i: { kind: string }) => i.kind === 'private');
        expect(privs.map((i: { conversationId: string }) => i.conversationId)).toEqual([cid2, cid]);
        const item = privs[1];
        expect(item).toMatchObject({
          conversationId: cid,
          kind: 'private',
          group: null,
          lastSeq: 3,
          readSeq: 0,
          unreadCount: 2,
          pinned: false,
          muted: false,
        });
        expect(item.peer).toMatchObject({ id: a.id, username: a.username });
        expect(item.lastMessage).toMatchObject({ seq: 3, senderId: b.id, content: { text: 'b1' } });

        expect((await as(b).put(`/api/v1/conversations/${cid}/pin`)).status).toBe(204);
        expect((await as(b).put(`/api/v1/conversations/${cid}/mute`)).status).toBe(204);
        const again = (await as(b).get('/api/v1/conversations')).body.items;
        expect(again[0]).toMatchObject({ conversationId: cid, pinned: true, muted: true });
        expect((await as(b).del(`/api/v1/conversations/${cid}/pin`)).status).toBe(204);
        expect((await as(b).del(`/api/v1/conversations/${cid}/mute`)).status).toBe(204);
        const after = (await as(b).get('/api/v1/conversations')).body.items;
        expect(after.find((i: { conversationId: string }) => i.conversationId === cid)).toMatchObject({
          pinned: false,
          muted: false,
        });
        expect((await as(await user()).put(`/api/v1/conversations/${cid}/pin`)).status).toBe(403);
      });

      it('keeps counting unread messages while the conversation is muted', async () => {
        const { a, b, cid } = await friends();
        const line = async () =>
          ((await as(b).get('/api/v1/conversations')).body.items as Array<{ conversationId: string }>).find(
            (i) => i.conversationId === cid,
          );
        await send(a, cid, 'before');
        expect((await as(b).put(`/api/v1/conversations/${cid}/mute`)).status).toBe(204);
        expect(await line()).toMatchObject({ muted: true, unreadCount: 1, lastSeq: 1 });
        await send(a, cid, 'muted 1');
        await send(a, cid, 'muted 2');
        expect(await line()).toMatchObject({ muted: true, unreadCount: 3, lastSeq: 3 });
        expect((await as(b).post(`/api/v1/conversations/${cid}/read`, { seq: 2 })).status).toBe(204);
        await send(a, cid, 'muted 3');
        expect(await line()).toMatchObject({ muted: true, unreadCount: 2, readSeq: 2, lastSeq: 4 });
      });

      it('pages the chat list with ?limit and an opaque ?cursor, in a stable order', async () => {
        const me = await user();
        expect((await send(me, 'w:world', 'the oldest line')).status).toBe(201);
        const peers: User[] = [];
        for (let i = 0; i < 4; i++) {
          const p = await user();
          await befriend(me, p);
          peers.push(p);
          expect((await send(p, pcid(me, p), `from ${i}`)).status).toBe(201);
        }
        expect((await as(me).put(`/api/v1/conversations/${pcid(me, peers[1])}/pin`)).status).toBe(204);
        const whole = await as(me).get('/api/v1/conversations?limit=100');
        expect(whole.status).toBe(200);
        expect(whole.body.nextCursor).toBeNull();
        const order = whole.body.items.map((i: { conversationId: string }) => i.conversationId);
        // Pinned first, then newest first.
        expect(order).toEqual([...[1, 3, 2, 0].map((i) => pcid(me, peers[i])), 'w:world']);

        const paged: string[] = [];
        let cursor: string | null = null;
        for (let pages = 0; ; pages++) {
          const path: string = `/api/v1/conversations?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
          const res = await as(me).get(path);
          expect(res.status).toBe(200);
          expect(res.body.items.length).toBeLessThanOrEqual(2);
          paged.push(...res.body.items.map((i: { conversationId: string }) => i.conversationId));
          cursor = res.body.nextCursor;
          if (cursor === null) break;
          expect(res.body.items).toHaveLength(2);
          expect(typeof cursor).toBe('string');
          expect(pages).toBeLessThan(10);
        }
        expect(paged).toEqual(order);
        const first = await as(me).get('/api/v1/conversations?limit=2');
        expect(first.body.items[0]).toMatchObject({ conversationId: pcid(me, peers[1]), pinned: true });
        expect(first.body.items[0].peer).toMatchObject({ id: peers[1].id });
        expect(first.body.items[0].lastMessage).toMatchObject({ content: { text: 'from 1' } });

        // New activity while paging moves a line ahead of the cursor; the others are neither repeated nor lost.
        const next = await as(me).get(`/api/v1/conversations?limit=2&cursor=${first.body.nextCursor}`);
        expect((await send(peers[0], pcid(me, peers[0]), 'bump')).status).toBe(201);
        const after = await as(me).get(`/api/v1/conversations?limit=100&cursor=${first.body.nextCursor}`);
        expect(after.body.items.map((i: { conversationId: string }) => i.conversationId)).toEqual(
          order.slice(2).filter((c: string) => c !== pcid(me, peers[0])),
        );
        expect(next.body.items.map((i: { conversationId: string }) => i.conversationId)).toEqual(
          order.slice(2, 4),
        );

        for (const q of ['limit=0', 'limit=101', 'limit=x', 'cursor=nope', 'cursor=W10', 'cursor=']) {
          const res = await as(me).get(`/api/v1/conversations?${q}`);
          expect({ q, status: res.status }).toEqual({ q, status: 400 });
          expect(res.body.error.code).toBe('VALIDATION_FAILED');
        }
      });

      it('shows group conversations with the group object', async () => {
        const owner = await user();
        const m = await user();
        const g = await group(owner, [m]);
        await send(owner, g.cid, 'welcome');
        const items = (await as(m).get('/api/v1/conversations')).body.items;
        const item = items.find((i: { conversationId: string }) => i.conversationId === g.cid);
        expect(item).toMatchObject({ kind: 'group', peer: null, unreadCount: 1, lastSeq: 1 });
        expect(item.group).toMatchObject({ id: g.id, name: 'team' });
      });

      it('moves readSeq forward only and clamps it to the last seq', async () => {
        const { a, b, cid } = await friends();
        for (let i = 0; i < 4; i++) await send(a, cid);
        expect((await as(b).post(`/api/v1/conversations/${cid}/read`, { seq: 3 })).status).toBe(204);
        expect((await as(b).post(`/api/v1/conversations/${cid}/read`, { seq: 1 })).status).toBe(204);
        const readSeq = async () =>
          (await as(b).get('/api/v1/conversations')).body.items.find(
            (i: { conversationId: string }) => i.conversationId === cid,
          ).readSeq;
        expect(await readSeq()).toBe(3);
        await as(b).post(`/api/v1/conversations/${cid}/read`, { seq: 999 });
        expect(await readSeq()).toBe(4);
        const item = (await as(b).get('/api/v1/conversations')).body.items.find(
          (i: { conversationId: string }) => i.conversationId === cid,
        );
        expect(item).toMatchObject({ readSeq: 4, unreadCount: 0 });
        for (const body of [{ seq: -1 }, { seq: 'x' }, { seq: 1.5 }, {}, { seq: 1, extra: true }]) {
          expect((await as(b).post(`/api/v1/conversations/${cid}/read`, body)).status).toBe(400);
        }
      });
    });

    describe('recall and delete-for-me', () => {
      it('lets the sender recall: status recalled, content gone from storage', async () => {
        const { a, b, cid } = await friends();
        const sent = await send(a, cid, 'oops');
        const notMine = await as(b).post(`/api/v1/messages/${sent.body.id}/recall`);
        expect(notMine.status).toBe(403);
        const res = await as(a).post(`/api/v1/messages/${sent.body.id}/recall`);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ id: sent.body.id, seq: 1, status: 'recalled', content: null });
        const history = await as(b).get(`/api/v1/conversations/${cid}/messages`);
        expect(history.body.items[0]).toMatchObject({ seq: 1, status: 'recalled', content: null });
        expect((await as(await user()).post(`/api/v1/messages/${sent.body.id}/recall`)).status).toBe(404);
        expect((await as(a).post(`/api/v1/messages/${'0'.repeat(32)}/recall`)).status).toBe(404);
        expect((await as(a).post('/api/v1/messages/not-an-id/recall')).status).toBe(400);
      });

      it('shows in the chat list only what the caller still sees after delete-for-me', async () => {
        const { a, b, cid } = await friends();
        await send(a, cid, 'one');
        const two = await send(a, cid, 'two');
        const line = async (u: User) =>
          (await as(u).get('/api/v1/conversations')).body.items.find(
            (i: { conversationId: string }) => i.conversationId === cid,
          );
        expect(await line(b)).toMatchObject({ lastSeq: 2, unreadCount: 2, lastMessage: { seq: 2 } });
        expect((await as(b).del(`/api/v1/messages/${two.body.id}`)).status).toBe(204);
        expect(await line(b)).toMatchObject({
          lastSeq: 2,
          unreadCount: 1,
          lastMessage: { seq: 1, content: { text: 'one' } },
        });
        expect(await line(a)).toMatchObject({ lastSeq: 2, unreadCount: 0, lastMessage: { seq: 2 } });
      });

      it('hides a message for the caller only', async () => {
        const { a, b, cid } = await friends();
        const m1 = await send(a, cid, 'one');
        await send(a, cid, 'two');
        expect((await as(b).del(`/api/v1/messages/${m1.body.id}`)).status).toBe(204);
        const forB = await as(b).get(`/api/v1/conversations/${cid}/messages`);
        expect(forB.body.items.map((m: { seq: number }) => m.seq)).toEqual([2]);
        const forA = await as(a).get(`/api/v1/conversations/${cid}/messages`);
        expect(forA.body.items.map((m: { seq: number }) => m.seq)).toEqual([1, 2]);
        expect((await as(await user()).del(`/api/v1/messages/${m1.body.id}`)).status).toBe(404);
      });
    });

    describe('friendship hooks', () => {
      it('makes the greeting of an accepted request message seq 1', async () => {
        const a = await user();
        const b = await user();
        await befriend(a, b, 'Hi, I am A');
        const res = await as(b).get(`/api/v1/conversations/${pcid(a, b)}/messages`);
        expect(res.body.items).toHaveLength(1);
        expect(res.body.items[0]).toMatchObject({
          seq: 1,
          senderId: a.id,
          type: 'text',
          content: { text: 'Hi, I am A' },
        });
      });

      it('hides the history for the deleter only when deleting with history', async () => {
        const { a, b, cid } = await friends();
        await send(a, cid, 'one');
        await send(b, cid, 'two');
        expect((await as(a).del(`/api/v1/friends/${b.id}?deleteHistory=true`)).status).toBe(204);
        expect((await as(a).get(`/api/v1/conversations/${cid}/messages`)).body.items).toEqual([]);
        expect((await as(b).get(`/api/v1/conversations/${cid}/messages`)).body.items).toHaveLength(2);
        const aList = (await as(a).get('/api/v1/conversations')).body.items;
        expect(aList.map((i: { conversationId: string }) => i.conversationId)).not.toContain(cid);
      });
    });

    describe('world channel', () => {
      it('lets everyone write, and an admin mute a user there (MUTED) and unmute', async () => {
        const admin = await user();
        const u = await user();
        await app.instance.engines.stores.accounts.setRole(admin.id, 'admin');
        expect((await send(u, 'w:world', 'hello world')).status).toBe(201);
        const notAdmin = await as(u).put(`/api/v1/world/mutes/${admin.id}`);
        expect(notAdmin.status).toBe(403);
        expect((await as(admin).put('/api/v1/world/mutes/999999999')).status).toBe(404);
        expect((await as(admin).put(`/api/v1/world/mutes/${u.id}`)).status).toBe(204);
        const muted = await send(u, 'w:world');
        expect(muted.status).toBe(403);
        expect(muted.body.error.code).toBe('MUTED');
        expect((await as(admin).del(`/api/v1/world/mutes/${u.id}`)).status).toBe(204);
        expect((await send(u, 'w:world')).status).toBe(201);
        const history = await as(admin).get('/api/v1/conversations/w:world/messages');
        expect(history.status).toBe(200);
        expect(history.body.items.length).toBeGreaterThan(0);
      });
    });

    describe('WebSocket', () => {
      it('acks a send and pushes it to every device of both sides, skipping muted members', async () => {
        const { a, b, cid } = await friends();
        const a1 = await connect(a);
        const a2 = await connect(a);
        const b1 = await connect(b);
        const b2 = await connect(b);
        a1.send({
          type: 'send',
          id: 'f1',
          data: { conversationId: cid, type: 'text', content: { text: 'ws hi' }, clientMsgId: cmid() },
        });
        const ack = await a1.next('ack');
        expect(ack.data).toMatchObject({
          id: 'f1',
          message: { conversationId: cid, seq: 1, senderId: a.id },
        });
        for (const c of [a2, b1, b2]) {
          const msg = await c.next('message');
          expect(msg.data).toMatchObject({ id: (ack.data.message as { id: string }).id, seq: 1 });
        }
        await as(b).put(`/api/v1/conversations/${cid}/mute`);
        await send(a, cid, 'while muted');
        await as(b).del(`/api/v1/conversations/${cid}/mute`);
        await send(a, cid, 'after unmute');
        expect((await b1.next('message')).data).toMatchObject({ seq: 3 });
        expect((await a2.next('message')).data).toMatchObject({ seq: 2 });
        // The sending connection has the message in its ack: it got no `message` event for seq 1, but REST
        // sends (seq 2 and 3, no origin connection) reach it like every other device.
        expect((await a1.next('message')).data).toMatchObject({ seq: 2 });
        expect((await a1.next('message')).data).toMatchObject({ seq: 3 });
        expect(a1.frames.filter((f) => f.type === 'message' && f.data.seq === 1)).toHaveLength(0);
      });

      it('answers a send retried with the same clientMsgId with the same ack, storing one message', async () => {
        const { a, b, cid } = await friends();
        const c = await connect(a);
        const clientMsgId = cmid();
        const frame = (id: string) =>
          c.send({
            type: 'send',
            id,
            data: { conversationId: cid, type: 'text', content: { text: 'r' }, clientMsgId },
          });
        frame('try-1');
        const first = await c.next('ack');
        frame('try-2');
        const second = await c.next('ack');
        expect(first.data).toMatchObject({ id: 'try-1' });
        expect(second.data).toMatchObject({ id: 'try-2' });
        expect(second.data.message).toEqual(first.data.message);
        const history = await as(b).get(`/api/v1/conversations/${cid}/messages`);
        expect(history.status).toBe(200);
        expect(
          history.body.items.map((m: { id: string; clientMsgId: string }) => [m.id, m.clientMsgId]),
        ).toEqual([[(first.data.message as { id: string }).id, clientMsgId]]);
      });

      it('answers rule and validation failures with error frames carrying the frame id', async () => {
        const a = await user();
        const stranger = await user();
        const c = await connect(a);
        c.send({
          type: 'send',
          id: 'x1',
          data: {
            conversationId: pcid(a, stranger),
            type: 'text',
            content: { text: 'x' },
            clientMsgId: cmid(),
          },
        });
        expect((await c.next('error')).data).toMatchObject({ id: 'x1', code: 'NOT_FRIENDS' });
        c.send({
          type: 'send',
          id: 'x2',
          data: {
            conversationId: pcid(a, stranger),
            type: 'text',
            content: { text: '' },
            clientMsgId: cmid(),
          },
        });
        expect((await c.next('error')).data).toMatchObject({ id: 'x2', code: 'VALIDATION_FAILED' });
        c.send({ type: 'read', id: 'x3', data: { conversationId: 'w:world', seq: -5 } });
        expect((await c.next('error')).data).toMatchObject({ id: 'x3', code: 'VALIDATION_FAILED' });
      });

      it('answers every send rule over WS with its code, as REST does', async () => {
        const wsSend = async (c: TestClient, id: string, conversationId: string) => {
          c.send({
            type: 'send',
            id,
            data: { conversationId, type: 'text', content: { text: 'x' }, clientMsgId: cmid() },
          });
          const frame = await c.next();
          expect(frame.type).toBe('error');
          return frame.data as { id: string; code: string };
        };
        // BLOCKED: the peer blocks the sender.
        const { a, b, cid } = await friends();
        expect((await as(b).put(`/api/v1/blocks/${a.id}`)).status).toBe(204);
        const ca = await connect(a);
        expect(await wsSend(ca, 'b1', cid)).toMatchObject({ id: 'b1', code: 'BLOCKED' });
        // NOT_A_MEMBER: a private conversation of two other users, and a group of others.
        const owner = await user();
        const m1 = await user();
        const m2 = await user();
        const g = await group(owner, [m1, m2]);
        expect(await wsSend(ca, 'n1', pcid(owner, m1))).toMatchObject({ id: 'n1', code: 'NOT_A_MEMBER' });
        expect(await wsSend(ca, 'n2', g.cid)).toMatchObject({ id: 'n2', code: 'NOT_A_MEMBER' });
        // MUTED: a muted member, then mute-all for a plain member.
        const until = new Date(Date.now() + 3600_000).toISOString();
        expect(
          (await as(owner).patch(`/api/v1/groups/${g.id}/members/${m1.id}`, { mutedUntil: until })).status,
        ).toBe(200);
        const c1 = await connect(m1);
        expect(await wsSend(c1, 'm1', g.cid)).toMatchObject({ id: 'm1', code: 'MUTED' });
        expect((await as(owner).put(`/api/v1/groups/${g.id}/mute`).send({ mutedAll: true })).status).toBe(
          200,
        );
        const c2 = await connect(m2);
        expect(await wsSend(c2, 'm2', g.cid)).toMatchObject({ id: 'm2', code: 'MUTED' });
        // CONVERSATION_NOT_FOUND: a well-formed id that is not canonical (larger id first), and no such group.
        expect(await wsSend(ca, 'c1', swappedPrivateConversationId(a.id, b.id))).toMatchObject({
          id: 'c1',
          code: 'CONVERSATION_NOT_FOUND',
        });
        expect(await wsSend(ca, 'c2', 'g:999999999')).toMatchObject({
          id: 'c2',
          code: 'CONVERSATION_NOT_FOUND',
        });
        // The connection stays usable after each refusal.
        ca.send({ type: 'ping', id: 'p' });
        expect((await ca.next('pong')).type).toBe('pong');
      });

      it('relays typing, read receipts and recalls to the other side and the other devices', async () => {
        const { a, b, cid } = await friends();
        const a1 = await connect(a);
        const a2 = await connect(a);
        const b1 = await connect(b);
        const sent = await send(a, cid, 'to recall');
        await b1.next('message');
        b1.send({ type: 'typing', data: { conversationId: cid } });
        expect((await a1.next('typing')).data).toEqual({ conversationId: cid, userId: b.id });
        b1.send({ type: 'read', data: { conversationId: cid, seq: 1 } });
        expect((await a1.next('read')).data).toEqual({ conversationId: cid, userId: b.id, seq: 1 });
        expect((await a2.next('read')).data).toEqual({ conversationId: cid, userId: b.id, seq: 1 });
        expect((await as(a).post(`/api/v1/messages/${sent.body.id}/recall`)).status).toBe(200);
        const recalled = { conversationId: cid, messageId: sent.body.id, seq: 1 };
        expect((await b1.next('message.recalled')).data).toEqual(recalled);
        expect((await a2.next('message.recalled')).data).toEqual(recalled);
      });

      it('pushes message.recalled to members who muted the conversation (private, group and world)', async () => {
        const { a, b, cid } = await friends();
        const m = await user();
        const g = await group(a, [m]);
        const w = await user();
        // Each one mutes the conversation: no `message` pushes, but recall notices still arrive.
        for (const [who, conversationId] of [
          [b, cid],
          [m, g.cid],
          [w, 'w:world'],
        ] as const) {
          expect((await as(who).put(`/api/v1/conversations/${conversationId}/mute`)).status).toBe(204);
        }
        const bc = await connect(b);
        const mc = await connect(m);
        const wc = await connect(w);
        for (const [client, conversationId] of [
          [bc, cid],
          [mc, g.cid],
          [wc, 'w:world'],
        ] as const) {
          const sent = await send(a, conversationId, 'to recall');
          expect(sent.status).toBe(201);
          expect((await as(a).post(`/api/v1/messages/${sent.body.id}/recall`)).status).toBe(200);
          const notice = await client.next('message.recalled');
          expect(notice.data).toEqual({ conversationId, messageId: sent.body.id, seq: sent.body.seq });
          // The message push would have come before the notice: muting still held it back.
          expect(
            client.frames.filter((f) => f.type === 'message' && f.data.conversationId === conversationId),
          ).toEqual([]);
        }
      });

      it('pushes group messages to every member once', async () => {
        const owner = await user();
        const m1 = await user();
        const m2 = await user();
        const g = await group(owner, [m1, m2]);
        const c1 = await connect(m1);
        const c2 = await connect(m2);
        await send(owner, g.cid, 'all hands');
        // The second message closes the window: a duplicate of the first would have come before it.
        await send(owner, g.cid, 'marker');
        for (const c of [c1, c2]) {
          expect((await c.next('message')).data).toMatchObject({ conversationId: g.cid, seq: 1 });
          expect((await c.next('message')).data).toMatchObject({ conversationId: g.cid, seq: 2 });
          expect(c.frames.filter((f) => f.type === 'message')).toEqual([]);
        }
      });
    });
  });

  describeWith(...needs)(`Messaging with the world channel off and no recall window (${name})`, () => {
    let store: StoreSetup;
    let app: TestApp;
    beforeAll(async () => {
      store = await setup();
      app = await startTestApp({
        ...store.overrides,
        world: { enabled: false },
        messages: { recallSeconds: 0 },
        rateLimit: { registerPerMinute: 10_000 },
      });
    }, 60_000);
    afterAll(async () => {
      await app?.close();
      await store?.cleanup();
    });
    const auth = (u: User) => ({ Authorization: `Bearer ${u.token}` });

    it('refuses the world channel with 403 WORLD_DISABLED', async () => {
      const u = await registerUser(app);
      const res = await app.http
        .post('/api/v1/messages')
        .set(auth(u))
        .send({ conversationId: 'w:world', type: 'text', content: { text: 'x' }, clientMsgId: cmid() });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('WORLD_DISABLED');
      const read = await app.http.get('/api/v1/conversations/w:world/messages').set(auth(u));
      expect(read.body.error.code).toBe('WORLD_DISABLED');
      const c = await TestClient.connect(app.instance.url, u.token);
      try {
        await c.next('ready');
        c.send({
          type: 'send',
          id: 'w1',
          data: { conversationId: 'w:world', type: 'text', content: { text: 'x' }, clientMsgId: cmid() },
        });
        expect((await c.next('error')).data).toMatchObject({ id: 'w1', code: 'WORLD_DISABLED' });
      } finally {
        await c.close();
      }
    });

    it('refuses a late recall with 409 RECALL_WINDOW_PASSED but lets the group owner recall', async () => {
      const owner = await registerUser(app);
      const m = await registerUser(app);
      const req = await app.http.post('/api/v1/friend-requests').set(auth(owner)).send({ userId: m.id });
      await app.http.post(`/api/v1/friend-requests/${req.body.id}/accept`).set(auth(m)).send({});
      const g = await app.http
        .post('/api/v1/groups')
        .set(auth(owner))
        .send({ name: 'g', memberIds: [m.id] });
      const sent = await app.http
        .post('/api/v1/messages')
        .set(auth(m))
        .send({
          conversationId: `g:${g.body.id}`,
          type: 'text',
          content: { text: 'x' },
          clientMsgId: cmid(),
        });
      expect(sent.status).toBe(201);
      const late = await app.http.post(`/api/v1/messages/${sent.body.id}/recall`).set(auth(m));
      expect(late.status).toBe(409);
      expect(late.body.error.code).toBe('RECALL_WINDOW_PASSED');
      const byOwner = await app.http.post(`/api/v1/messages/${sent.body.id}/recall`).set(auth(owner));
      expect(byOwner.status).toBe(200);
      expect(byOwner.body).toMatchObject({ status: 'recalled', content: null });
    });
  });
}
