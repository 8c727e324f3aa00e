import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeSqlite, createSqlite, type SqliteDatabase } from '../../src/infra/sqlite';
import { createLogger } from '../../src/shared/logger';

/** A migrated embedded database in a fresh temp directory, and how to drop it. */
export function tempSqlite(): { db: SqliteDatabase; dir: string; close: () => Promise<void> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-sqlite-'));
  const db = createSqlite(dir, createLogger({ level: 'silent' }));
  return {
    db,
    dir,
    close: async () => {
      closeSqlite(db);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
