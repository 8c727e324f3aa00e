import type { Statement } from 'better-sqlite3';
import type { ShortLivedStore } from '../shared/short-lived';
import type { SqliteDatabase } from './sqlite';

/**
 * Short-lived keys in the embedded SQLite database (table `short_lived`). Unlike the in-process engine they
 * survive a restart, so a revoked token stays revoked and a federation nonce stays seen. Each operation is
 * one statement (or one synchronous transaction), so `setIfAbsent`, `getDel` and `increment` are atomic.
 * Expired rows are never answered and are deleted periodically (the timer does not keep the process alive).
 */
export class SqliteShortLivedStore implements ShortLivedStore {
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout | null;
  private readonly getStmt: Statement<[string, number], { value: string }>;
  private readonly setStmt: Statement<[string, string, number]>;
  private readonly insertStmt: Statement<[{ key: string; value: string; expiresAt: number; now: number }]>;
  private readonly delStmt: Statement<[string]>;
  private readonly getDelStmt: Statement<[string, number], { value: string }>;
  private readonly incrStmt: Statement<[{ key: string; expiresAt: number; now: number }], { value: string }>;
  private readonly sweepStmt: Statement<[number]>;

  constructor(
    private readonly db: SqliteDatabase,
    options: { now?: () => number; sweepIntervalMs?: number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.getStmt = db.prepare('SELECT value FROM short_lived WHERE key = ? AND expires_at > ?');
    this.setStmt = db.prepare(
      `INSERT INTO short_lived (key, value, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
    );
    // Stores only over an absent or expired row: the WHERE of the upsert keeps a live one.
    this.insertStmt = db.prepare(
      `INSERT INTO short_lived (key, value, expires_at) VALUES (@key, @value, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
       WHERE short_lived.expires_at <= @now`,
    );
    this.delStmt = db.prepare('DELETE FROM short_lived WHERE key = ?');
    this.getDelStmt = db.prepare('DELETE FROM short_lived WHERE key = ? AND expires_at > ? RETURNING value');
    this.incrStmt = db.prepare(
      `INSERT INTO short_lived (key, value, expires_at) VALUES (@key, '1', @expiresAt)
       ON CONFLICT (key) DO UPDATE SET
         value = CASE WHEN short_lived.expires_at <= @now THEN '1'
                      ELSE CAST(CAST(short_lived.value AS INTEGER) + 1 AS TEXT) END,
         expires_at = excluded.expires_at
       RETURNING value`,
    );
    this.sweepStmt = db.prepare('DELETE FROM short_lived WHERE expires_at <= ?');
    const every = options.sweepIntervalMs ?? 60_000;
    this.timer = every > 0 ? setInterval(() => this.sweep(), every) : null;
    this.timer?.unref();
  }

  async get(key: string): Promise<string | null> {
    return this.getStmt.get(key, this.now())?.value ?? null;
  }

  async mget(keys: string[]): Promise<Array<string | null>> {
    const now = this.now();
    return keys.map((k) => this.getStmt.get(k, now)?.value ?? null);
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.setStmt.run(key, value, this.expiry(ttlSeconds));
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    return (
      this.insertStmt.run({ key, value, expiresAt: this.expiry(ttlSeconds), now: this.now() }).changes === 1
    );
  }

  async getDel(key: string): Promise<string | null> {
    return this.getDelStmt.get(key, this.now())?.value ?? null;
  }

  async del(key: string): Promise<void> {
    this.delStmt.run(key);
  }

  async increment(key: string, ttlSeconds: number): Promise<number> {
    return Number(this.incrStmt.get({ key, expiresAt: this.expiry(ttlSeconds), now: this.now() })!.value);
  }

  /** Deletes the expired rows; answers how many. */
  sweep(): number {
    if (!this.db.open) return 0;
    return this.sweepStmt.run(this.now()).changes;
  }

  /** Stops the sweep timer (the database is closed by its owner). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private expiry(ttlSeconds: number): number {
    return this.now() + Math.max(1, Math.round(ttlSeconds * 1000));
  }
}
