import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { UploadStorage } from '../../src/modules/uploads/uploads.storage';

async function bytesOf(stream: Readable | null): Promise<Buffer | null> {
  if (!stream) return null;
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The behaviour every UploadStorage engine must show. */
export function uploadStorageContract(
  name: string,
  open: () => Promise<{ storage: UploadStorage; close: () => Promise<void> }>,
) {
  describe(`UploadStorage contract: ${name}`, () => {
    let storage: UploadStorage;
    let close: () => Promise<void>;
    let local: string;

    beforeAll(async () => {
      ({ storage, close } = await open());
      local = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-storage-'));
    });
    afterAll(async () => {
      await close();
      fs.rmSync(local, { recursive: true, force: true });
    });

    /** A local file of `size` random bytes, and its content hash. */
    function localFile(size: number): { file: string; bytes: Buffer; key: string } {
      const bytes = randomBytes(size);
      const file = path.join(local, `${randomBytes(6).toString('hex')}.part`);
      fs.writeFileSync(file, bytes);
      return { file, bytes, key: createHash('sha256').update(bytes).digest('hex') };
    }

    it('stores a file under its key, removes the local file, and reads it back whole', async () => {
      const { file, bytes, key } = localFile(300_000);
      expect(await storage.has(key)).toBe(false);
      await storage.putFile(key, file, bytes.length, 'application/octet-stream');
      expect(fs.existsSync(file)).toBe(false);
      expect(await storage.has(key)).toBe(true);
      expect((await bytesOf(await storage.read(key)))!.equals(bytes)).toBe(true);
    });

    it('reads an inclusive byte range', async () => {
      const { file, bytes, key } = localFile(10_000);
      await storage.putFile(key, file, bytes.length, 'application/octet-stream');
      expect(
        (await bytesOf(await storage.read(key, { start: 100, end: 199 })))!.equals(bytes.subarray(100, 200)),
      ).toBe(true);
      expect(
        (await bytesOf(await storage.read(key, { start: 9_999, end: 9_999 })))!.equals(bytes.subarray(9_999)),
      ).toBe(true);
    });

    it('stores an empty file', async () => {
      const { file, key } = localFile(0);
      await storage.putFile(key, file, 0, 'application/octet-stream');
      expect((await bytesOf(await storage.read(key)))!.length).toBe(0);
    });

    it('keeps one blob when the same key is stored twice', async () => {
      const first = localFile(2_000);
      await storage.putFile(first.key, first.file, first.bytes.length, 'application/octet-stream');
      const again = path.join(local, 'again.part');
      fs.writeFileSync(again, first.bytes);
      await storage.putFile(first.key, again, first.bytes.length, 'application/octet-stream');
      expect((await bytesOf(await storage.read(first.key)))!.equals(first.bytes)).toBe(true);
    });

    it('answers null and false for a missing key, and deletes idempotently', async () => {
      const { file, bytes, key } = localFile(1_000);
      const missing = createHash('sha256').update('never stored').digest('hex');
      expect(await storage.read(missing)).toBeNull();
      expect(await storage.has(missing)).toBe(false);
      await storage.putFile(key, file, bytes.length, 'application/octet-stream');
      await storage.delete(key);
      expect(await storage.has(key)).toBe(false);
      expect(await storage.read(key)).toBeNull();
      await expect(storage.delete(key)).resolves.toBeUndefined();
    });

    it('refuses keys that are not content hashes (no path or object outside the store)', async () => {
      for (const key of ['../../etc/passwd', 'A'.repeat(64), '', `${'a'.repeat(63)}/`]) {
        await expect(storage.read(key)).rejects.toThrow('invalid storage key');
      }
    });

    it('answers its health check', async () => {
      await expect(storage.check()).resolves.toBeUndefined();
    });
  });
}
