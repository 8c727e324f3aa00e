import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DiskUploadStorage } from '../../src/modules/uploads/uploads.storage.disk';
import { uploadStorageContract } from './storage.contract';

uploadStorageContract('disk', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-disk-'));
  const storage = new DiskUploadStorage(root);
  await storage.init();
  return { storage, close: async () => fs.rmSync(root, { recursive: true, force: true }) };
});

describe('DiskUploadStorage', () => {
  it('keeps blobs under <root>/<aa>/<bb>/<key> and nothing under a real key before the rename', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-disk-'));
    try {
      const storage = new DiskUploadStorage(root);
      await storage.init();
      const key = 'ab'.repeat(32);
      const local = path.join(root, '.tmp', 'x.part');
      fs.writeFileSync(local, 'payload');
      await storage.putFile(key, local, 7, 'text/plain');
      expect(fs.readFileSync(path.join(root, 'ab', 'ab', key), 'utf8')).toBe('payload');
      expect(fs.readdirSync(path.join(root, '.tmp'))).toEqual([]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
