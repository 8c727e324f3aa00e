import type { Config, DeepPartial } from '../../src/config';
import { befriend, registerUser, startTestApp, type TestApp } from '../helpers/app';
import { bearer, createGroup, joinOpen, type User } from '../social/social.helpers';
import * as media from './fixtures';
import { privateConversationId } from '../helpers/ids';
import { describeWith } from '../helpers/servers';

/** Where the suite's instance keeps messages: extra config, and cleanup once the suite is done. */
export interface StoreSetup {
  overrides: DeepPartial<Config>;
  cleanup: () => Promise<void>;
}

let n = 0;
const cmid = () => `up-${Date.now()}-${++n}`;

/** Who may read an upload, and message content with uploadId, against the message store `setup` selects. */
export function uploadAccessSuite(name: string, setup: () => Promise<StoreSetup>): void {
  describeWith('mysql', 'redis')(`Upload access and content.uploadId (${name})`, () => {
    let store: StoreSetup;
    let app: TestApp;

    beforeAll(async () => {
      store = await setup();
      app = await startTestApp(store.overrides);
    });
    afterAll(async () => {
      await app?.close();
      await store?.cleanup();
    });

    const uploadImage = async (u: User) => {
      const res = await app.http
        .post('/api/v1/uploads')
        .set('Authorization', bearer(u))
        .attach('file', await media.png(120, 90), 'photo.png');
      expect(res.status).toBe(201);
      return res.body as { id: string; url: string; thumbUrl: string; size: number };
    };
    const uploadFile = async (u: User, bytes: Buffer, filename: string) => {
      const res = await app.http
        .post('/api/v1/uploads')
        .set('Authorization', bearer(u))
        .attach('file', bytes, filename);
      expect(res.status).toBe(201);
      return res.body as { id: string; url: string; size: number; mime: string; name: string };
    };
    const send = (u: User, conversationId: string, type: string, content: Record<string, unknown>) =>
      app.http
        .post('/api/v1/messages')
        .set('Authorization', bearer(u))
        .send({ conversationId, type, content, clientMsgId: cmid() });
    const status = async (u: User, url: string) =>
      (await app.http.get(url).set('Authorization', bearer(u))).status;
    const friends = async () => {
      const a = await registerUser(app);
      const b = await registerUser(app);
      await befriend(app, a, b);
      return { a, b, cid: privateConversationId(a.id, b.id) };
    };

    it('fills an image message from the upload and lets the peer read it; strangers get 404', async () => {
      const { a, b, cid } = await friends();
      const stranger = await registerUser(app);
      const up = await uploadImage(a);
      expect(await status(b, up.url)).toBe(404);
      const res = await send(a, cid, 'image', { uploadId: up.id });
      expect(res.status).toBe(201);
      expect(res.body.content).toStrictEqual({
        url: up.url,
        width: 120,
        height: 90,
        size: up.size,
        mime: 'image/png',
        uploadId: up.id,
      });
      expect(await status(b, up.url)).toBe(200);
      expect(await status(b, up.thumbUrl)).toBe(200);
      expect(await status(stranger, up.url)).toBe(404);
      const history = await app.http
        .get(`/api/v1/conversations/${cid}/messages`)
        .set('Authorization', bearer(b));
      expect(history.body.items[0].content.uploadId).toBe(up.id);
    });

    it('fills a file message (name, size, mime) and a voice message (duration) from their uploads', async () => {
      const { a, b, cid } = await friends();
      const doc = await uploadFile(
        a,
        Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n', 'latin1'),
        'report.pdf',
      );
      const file = await send(a, cid, 'file', { uploadId: doc.id });
      expect(file.status).toBe(201);
      expect(file.body.content).toStrictEqual({
        url: doc.url,
        name: 'report.pdf',
        size: doc.size,
        mime: doc.mime,
        uploadId: doc.id,
      });
      const clip = await uploadFile(a, media.wav(8044), 'hi.wav');
      const voice = await send(a, cid, 'voice', { uploadId: clip.id });
      expect(voice.status).toBe(201);
      expect(voice.body.content).toStrictEqual({
        url: clip.url,
        duration: 0.5,
        size: 8044,
        uploadId: clip.id,
      });
      expect(await status(b, doc.url)).toBe(200);
      expect(await status(b, clip.url)).toBe(200);
    });

    it('refuses an upload id that is not the sender’s, unknown, or of another kind with 400', async () => {
      const { a, b, cid } = await friends();
      const hers = await uploadImage(b);
      const mine = await uploadImage(a);
      for (const [type, content] of [
        ['image', { uploadId: hers.id }],
        ['image', { uploadId: 'f'.repeat(32) }],
        ['voice', { uploadId: mine.id, duration: 3 }],
        ['image', { uploadId: 'not-an-id' }],
      ] as const) {
        const res = await send(a, cid, type, content);
        expect({ type, status: res.status, code: res.body.error?.code }).toEqual({
          type,
          status: 400,
          code: 'VALIDATION_FAILED',
        });
      }
      expect(await app.instance.services.messageStore.lastSeq(cid)).toBe(0);
      expect(await status(a, hers.url)).toBe(404);
    });

    it('ends the peer’s access when the message is recalled; the uploader keeps it', async () => {
      const { a, b, cid } = await friends();
      const up = await uploadImage(a);
      const msg = await send(a, cid, 'image', { uploadId: up.id });
      expect(await status(b, up.url)).toBe(200);
      const recall = await app.http
        .post(`/api/v1/messages/${msg.body.id}/recall`)
        .set('Authorization', bearer(a));
      expect(recall.status).toBe(200);
      expect(await status(b, up.url)).toBe(404);
      expect(await status(a, up.url)).toBe(200);
    });

    it('ends access for whoever deleted the message for themselves only', async () => {
      const { a, b, cid } = await friends();
      const up = await uploadImage(a);
      const msg = await send(a, cid, 'image', { uploadId: up.id });
      const del = await app.http.delete(`/api/v1/messages/${msg.body.id}`).set('Authorization', bearer(b));
      expect(del.status).toBe(204);
      expect(await status(b, up.url)).toBe(404);
      expect(await status(a, up.url)).toBe(200);
    });

    it('ends access when a friend is removed with history deleted, for the one who deleted it', async () => {
      const { a, b, cid } = await friends();
      const up = await uploadImage(a);
      await send(a, cid, 'image', { uploadId: up.id });
      const res = await app.http
        .delete(`/api/v1/friends/${a.id}?deleteHistory=true`)
        .set('Authorization', bearer(b));
      expect(res.status).toBe(204);
      expect(await status(b, up.url)).toBe(404);
      expect(await status(a, up.url)).toBe(200);
    });

    it('lets group members read an upload sent to the group, until they leave', async () => {
      const owner = await registerUser(app);
      const member = await registerUser(app);
      const outsider = await registerUser(app);
      const group = await createGroup(app, owner, { joinPolicy: 'open' });
      await joinOpen(app, group.id, member);
      const up = await uploadImage(owner);
      const msg = await send(owner, `g:${group.id}`, 'image', { uploadId: up.id });
      expect(msg.status).toBe(201);
      expect(await status(member, up.url)).toBe(200);
      expect(await status(outsider, up.url)).toBe(404);
      const left = await app.http
        .post(`/api/v1/groups/${group.id}/leave`)
        .set('Authorization', bearer(member));
      expect(left.status).toBe(204);
      expect(await status(member, up.url)).toBe(404);
    });

    it('keeps access through another message that still refers to the upload', async () => {
      const { a, b, cid } = await friends();
      const up = await uploadImage(a);
      const first = await send(a, cid, 'image', { uploadId: up.id });
      await send(a, cid, 'file', { uploadId: up.id, name: 'again.png' });
      await app.http.post(`/api/v1/messages/${first.body.id}/recall`).set('Authorization', bearer(a));
      expect(await status(b, up.url)).toBe(200);
    });

    it('lets everyone read an upload sent to the world channel', async () => {
      const a = await registerUser(app);
      const anyone = await registerUser(app);
      const up = await uploadImage(a);
      expect((await send(a, 'w:world', 'image', { uploadId: up.id })).status).toBe(201);
      expect(await status(anyone, up.url)).toBe(200);
    });

    it('deletes uploads no message refers to once they are older than the TTL, and keeps the others', async () => {
      const { a, cid } = await friends();
      const orphan = await uploadFile(
        a,
        Buffer.from(`an orphan ${Date.now()} ${Math.random()}`),
        'orphan.txt',
      );
      // The same bytes as `orphan`, uploaded again: one blob for both, which must outlive the orphan.
      const twin = await uploadFile(
        a,
        (await app.http.get(orphan.url).set('Authorization', bearer(a))).body,
        'twin.txt',
      );
      const used = await uploadFile(a, Buffer.from('kept because a message names it'), 'kept.txt');
      await send(a, cid, 'file', { uploadId: used.id });
      const fresh = await uploadFile(a, Buffer.from('young orphan'), 'young.txt');
      await app.instance.mysql.query(
        'UPDATE uploads SET created_at = NOW(3) - INTERVAL 2 DAY WHERE id IN (?, ?)',
        [orphan.id, used.id],
      );
      const { uploads, uploadStorage } = app.instance.services;
      const key = (await uploads['deps'].store.findById(orphan.id))!.storageKey;
      expect(await uploadStorage.has(key)).toBe(true);
      expect(await uploads.sweep()).toBeGreaterThanOrEqual(1);
      expect(await status(a, orphan.url)).toBe(404);
      expect(await uploadStorage.has(key)).toBe(true);
      expect(await status(a, twin.url)).toBe(200);
      await app.instance.mysql.query('UPDATE uploads SET created_at = NOW(3) - INTERVAL 2 DAY WHERE id = ?', [
        twin.id,
      ]);
      expect(await uploads.sweep()).toBe(1);
      expect(await uploadStorage.has(key)).toBe(false);
      expect(await status(a, used.url)).toBe(200);
      expect(await status(a, fresh.url)).toBe(200);
    });
  });
}
