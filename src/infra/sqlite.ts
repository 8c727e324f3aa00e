import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../shared/logger';
import type { SecretStore } from '../shared/secrets';
import { migrationFiles } from './migrations';

export type SqliteDatabase = Database.Database;

/** The file of the embedded database inside the data directory. */
export const SQLITE_FILE = 'jim.db';

/** Where the embedded engine's own migrations live. */
export const SQLITE_MIGRATIONS = path.resolve(__dirname, '../../sql/sqlite');

/**
 * Opens (creating when missing) `<dataDir>/jim.db`: WAL so readers never wait for the writer,
 * synchronous=NORMAL (a commit is durable once the WAL is checkpointed; a power cut may lose the last
 * commits but never corrupts), foreign keys on, and a busy timeout so a second process waits for a lock
 * instead of failing at once.
 */
export function openSqlite(dataDir: string, options: { file?: string; busyTimeoutMs?: number } = {}) {
  fs.mkdirSync(dataDir, { recursive: true });
  const db = new Database(path.join(dataDir, options.file ?? SQLITE_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
  return db;
}

/**
 * Applies the numbered `NNN_name.sql` files of `dir` not yet recorded in `schema_migrations`, each in its
 * own transaction with its record. BEGIN IMMEDIATE takes the write lock before reading what is applied, so
 * two processes starting on one file run each migration once.
 */
export function migrateSqlite(db: SqliteDatabase, dir: string, logger: Logger): string[] {
  const files = migrationFiles(fs.readdirSync(dir));
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT NOT NULL PRIMARY KEY,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const applied: string[] = [];
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  for (const file of files) {
    const sql = fs.readFileSync(path.join(dir, file), 'utf8');
    const ran = db
      .transaction(() => {
        if (isApplied.get(file)) return false;
        db.exec(sql);
        record.run(file, Date.now());
        return true;
      })
      .immediate();
    if (ran) {
      applied.push(file);
      logger.info({ migration: file }, 'migration applied');
    }
  }
  return applied;
}

/** Opens the embedded database under `dataDir` and brings its schema up to date. */
export function createSqlite(dataDir: string, logger: Logger): SqliteDatabase {
  const db = openSqlite(dataDir);
  try {
    migrateSqlite(db, SQLITE_MIGRATIONS, logger);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Checkpoints the WAL into the main file and closes the database (idempotent). */
export function closeSqlite(db: SqliteDatabase): void {
  if (!db.open) return;
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/**
 * The comparison key of a text under MariaDB's utf8mb4_unicode_ci as far as this project relies on it:
 * letter case and accents do not count (compatibility decomposition, combining marks dropped, lower case).
 * SQLite compares bytes, so the stores keep this key in a column of its own and index it.
 */
export function foldText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

/** The unique key of a username: `foldText`, and trailing spaces ignored as MariaDB's PAD SPACE does. */
export function usernameKey(username: string): string {
  return foldText(username).replace(/ +$/, '');
}

/** True for a UNIQUE or PRIMARY KEY violation. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** A JSON array for `IN (SELECT value FROM json_each(?))`: one parameter however long the list. */
export function jsonList(values: readonly (string | number)[]): string {
  return JSON.stringify(values);
}

/** The JSON array of decimal ids as numbers, so they compare with INTEGER columns as numbers. */
export function jsonIds(ids: readonly string[]): string {
  return JSON.stringify(ids.map((id) => (/^\d{1,15}$/.test(id) ? Number(id) : id)));
}

/** A Date of a stored epoch-milliseconds value. */
export function toDate(ms: number | bigint): Date {
  return new Date(Number(ms));
}

/** The deployment's shared secrets in the embedded database (`server_secrets`). */
export class SqliteSecretStore implements SecretStore {
  constructor(private readonly db: SqliteDatabase) {}

  async sharedSecret(name: string, generate: () => string): Promise<string> {
    this.db
      .prepare('INSERT OR IGNORE INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)')
      .run(name, generate(), Date.now());
    const row = this.db.prepare('SELECT value FROM server_secrets WHERE name = ?').get(name) as
      { value: string } | undefined;
    if (!row?.value) throw new Error(`server secret ${name} could not be stored`);
    return row.value;
  }
}
