import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { assertStorageKey, type ByteRange, type UploadStorage } from './uploads.storage';

/**
 * Blobs as files under `<root>/<aa>/<bb>/<key>`. A file is written under a temporary name in `<root>/.tmp`
 * (same file system) and renamed into place, so a crash never leaves a half file under a real key.
 */
export class DiskUploadStorage implements UploadStorage {
  readonly name = 'disk' as const;
  private readonly tmpDir: string;

  constructor(private readonly root: string) {
    this.tmpDir = path.join(root, '.tmp');
  }

  /** Creates the directories. */
  async init(): Promise<void> {
    await fs.promises.mkdir(this.tmpDir, { recursive: true });
  }

  private pathOf(key: string): string {
    assertStorageKey(key);
    return path.join(this.root, key.slice(0, 2), key.slice(2, 4), key);
  }

  async putFile(key: string, localPath: string, _size: number, _contentType: string): Promise<void> {
    const target = this.pathOf(key);
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    try {
      await fs.promises.rename(localPath, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // The local file is on another file system: copy it next to the target first, then rename.
      const staged = path.join(this.tmpDir, `${key}.${process.pid}.${Date.now()}`);
      await fs.promises.copyFile(localPath, staged);
      await fs.promises.rename(staged, target);
      await fs.promises.rm(localPath, { force: true });
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable | null> {
    const file = this.pathOf(key);
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async has(key: string): Promise<boolean> {
    try {
      await fs.promises.access(this.pathOf(key));
      return true;
    } catch {
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.promises.rm(this.pathOf(key), { force: true });
  }

  async check(): Promise<void> {
    await fs.promises.access(this.root, fs.constants.W_OK);
  }
}
