import { createHash, randomBytes } from 'node:crypto';
import { newId } from '../../src/shared/ids';
import type { UploadRecord, UploadStore } from '../../src/modules/uploads/uploads.store';
import { describeWith, type Server } from '../helpers/servers';

const key = (s: string) => createHash('sha256').update(s).digest('hex');
let n = 0;
const owner = () => String(1_000_000 + (++n % 1000) * 1000 + Math.floor(Math.random() * 999));

function record(fields: Partial<UploadRecord> = {}): UploadRecord {
  return {
    id: newId(),
    ownerId: owner(),
    kind: 'image',
    mime: 'image/png',
    size: 1000,
    name: 'a.png',
    width: 10,
    height: 20,
    duration: null,
    storageKey: key(randomBytes(8).toString('hex')),
    thumbKey: key(randomBytes(8).toString('hex')),
    thumbSize: 100,
    createdAt: new Date(Math.floor(Date.now() / 1000) * 1000),
    ...fields,
  };
}

/** The behaviour every UploadStore implementation must show. */
export function uploadStoreContract(
  name: string,
  open: () => Promise<{ store: UploadStore; close: () => Promise<void> }>,
  needs: Server[] = [],
) {
  describeWith(...needs)(`UploadStore contract: ${name}`, () => {
    let store: UploadStore;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ store, close } = await open());
    });
    afterAll(async () => {
      await close();
    });

    it('stores an upload and returns it as a plain object; null for an unknown id', async () => {
      const u = record({
        kind: 'voice',
        mime: 'audio/ogg',
        width: null,
        height: null,
        duration: 2.5,
        thumbKey: null,
        thumbSize: null,
      });
      await store.insert(u);
      expect(await store.findById(u.id)).toEqual(u);
      expect(await store.findById(newId())).toBeNull();
    });

    it('adds up the bytes an owner keeps, thumbnails included', async () => {
      const who = owner();
      expect(await store.bytesOf(who)).toBe(0);
      await store.insert(record({ ownerId: who, size: 1000, thumbSize: 100 }));
      await store.insert(record({ ownerId: who, size: 5, thumbKey: null, thumbSize: null }));
      expect(await store.bytesOf(who)).toBe(1105);
    });

    it('records references once each, lists them and forgets a message’s', async () => {
      const u = record();
      await store.insert(u);
      const [m1, m2] = [newId(), newId()];
      await store.addRef({ uploadId: u.id, messageId: m1, conversationId: 'p:1:2' });
      await store.addRef({ uploadId: u.id, messageId: m1, conversationId: 'p:1:2' });
      await store.addRef({ uploadId: u.id, messageId: m2, conversationId: 'g:7' });
      const refs = await store.refsOf(u.id, 10);
      expect(refs.map((r) => r.messageId).sort()).toEqual([m1, m2].sort());
      expect(await store.refsOf(u.id, 1)).toHaveLength(1);
      await store.removeRefsOfMessage(m1);
      expect(await store.refsOf(u.id, 10)).toEqual([
        { uploadId: u.id, messageId: m2, conversationId: 'g:7' },
      ]);
    });

    it('lists old uploads without references as orphans, and deletes them with their references', async () => {
      const old = new Date(Date.now() - 3 * 86400_000);
      const orphan = record({ createdAt: old });
      const referenced = record({ createdAt: old });
      const young = record();
      for (const u of [orphan, referenced, young]) await store.insert(u);
      await store.addRef({ uploadId: referenced.id, messageId: newId(), conversationId: 'w:world' });
      const found = await store.orphans(new Date(Date.now() - 86400_000), 1000);
      const ids = found.map((u) => u.id);
      expect(ids).toContain(orphan.id);
      expect(ids).not.toContain(referenced.id);
      expect(ids).not.toContain(young.id);
      expect(await store.delete(orphan.id)).toBe(true);
      expect(await store.delete(orphan.id)).toBe(false);
      expect(await store.findById(orphan.id)).toBeNull();
      expect(await store.delete(referenced.id)).toBe(true);
      expect(await store.refsOf(referenced.id, 10)).toEqual([]);
    });

    it('lists orphans oldest first up to the limit, and refuses a second upload with one id', async () => {
      const day = 86400_000;
      const base = Math.floor(Date.now() / 1000) * 1000 - 400 * day;
      const aged = [3, 1, 2].map((d) => record({ createdAt: new Date(base - d * day) }));
      for (const u of aged) await store.insert(u);
      const oldest = await store.orphans(new Date(base), 2);
      expect(oldest.map((u) => u.id)).toEqual([aged[0].id, aged[2].id]);
      expect(oldest[0].createdAt).toEqual(aged[0].createdAt);
      // Settled rather than toThrow: a driver's native error may come from another realm than the test's Error.
      const second = store.insert(record({ id: aged[1].id }));
      expect(
        await second.then(
          () => 'stored',
          () => 'refused',
        ),
      ).toBe('refused');
      expect((await store.findById(aged[1].id))?.ownerId).toBe(aged[1].ownerId);
      for (const u of aged) await store.delete(u.id);
    });

    it('tells whether a blob key is still used as a file or a thumbnail', async () => {
      const a = record();
      const b = record({ storageKey: a.storageKey, thumbKey: null, thumbSize: null });
      await store.insert(a);
      await store.insert(b);
      expect(await store.keyInUse(a.storageKey)).toBe(true);
      expect(await store.keyInUse(a.thumbKey!)).toBe(true);
      await store.delete(a.id);
      expect(await store.keyInUse(a.storageKey)).toBe(true);
      expect(await store.keyInUse(a.thumbKey!)).toBe(false);
      await store.delete(b.id);
      expect(await store.keyInUse(a.storageKey)).toBe(false);
    });
  });
}
