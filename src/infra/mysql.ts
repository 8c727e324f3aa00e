import fs from 'node:fs/promises';
import path from 'node:path';
import { migrationFiles } from './migrations';
import mysql, { type Pool, type PoolConnection } from 'mysql2/promise';
import type { Logger } from '../shared/logger';
import type { PoolStats } from '../shared/metrics';
import type { SecretStore } from '../shared/secrets';

export type { Pool, PoolConnection } from 'mysql2/promise';

/** Splits a mysql:// URL into connection options and the database name. */
export function parseMysqlUrl(url: string): { options: mysql.ConnectionOptions; database: string } {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'jim';
  if (!/^[A-Za-z0-9_]{1,64}$/.test(database))
    throw new Error(`mysql.url: invalid database name "${database}"`);
  return {
    database,
    options: {
      host: u.hostname || '127.0.0.1',
      port: u.port ? Number(u.port) : 3306,
      user: decodeURIComponent(u.username || 'root'),
      password: decodeURIComponent(u.password || ''),
    },
  };
}

/** Creates the database when missing and returns a utf8mb4 pool on it. */
export async function createMysqlPool(url: string, poolSize: number): Promise<Pool> {
  const { options, database } = parseMysqlUrl(url);
  const admin = await mysql.createConnection({ ...options, charset: 'utf8mb4_unicode_ci' });
  try {
    await admin.query(
      `CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await admin.end();
  }
  return mysql.createPool({
    ...options,
    database,
    charset: 'utf8mb4_unicode_ci',
    connectionLimit: Math.max(1, poolSize),
    waitForConnections: true,
    timezone: 'Z',
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: true,
    enableKeepAlive: true,
  });
}

/** The mysql2 pool's own queues; mysql2 has no public API for its state. */
interface PoolInternals {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
  _connectionQueue?: { length: number };
  config?: { connectionLimit?: number };
}

/** The pool's connections and waiting requests at this moment (for the metrics). */
export function poolStats(pool: Pool): PoolStats {
  const core = (pool as unknown as { pool: PoolInternals }).pool;
  return {
    open: core._allConnections?.length ?? 0,
    idle: core._freeConnections?.length ?? 0,
    waiting: core._connectionQueue?.length ?? 0,
    limit: core.config?.connectionLimit ?? 0,
  };
}

const MIGRATION_LOCK = 'jim_schema_migrations';

/**
 * Applies the numbered `NNN_name.sql` files of `dir` that are not yet recorded in `schema_migrations`.
 * A named lock makes concurrent starts wait for each other, so each file runs once.
 */
export async function migrate(pool: Pool, dir: string, logger: Logger): Promise<string[]> {
  const files = migrationFiles(await fs.readdir(dir));
  const conn = await pool.getConnection();
  const applied: string[] = [];
  try {
    const [lockRows] = await conn.query('SELECT GET_LOCK(?, 120) AS got', [MIGRATION_LOCK]);
    if ((lockRows as Array<{ got: number }>)[0]?.got !== 1)
      throw new Error('could not take the migration lock');
    try {
      await conn.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version VARCHAR(190) NOT NULL PRIMARY KEY,
           applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
      );
      const [rows] = await conn.query('SELECT version FROM schema_migrations');
      const done = new Set((rows as Array<{ version: string }>).map((r) => r.version));
      for (const file of files) {
        if (done.has(file)) continue;
        const sql = await fs.readFile(path.join(dir, file), 'utf8');
        for (const statement of splitStatements(sql)) await conn.query(statement);
        await conn.query('INSERT INTO schema_migrations (version) VALUES (?)', [file]);
        applied.push(file);
        logger.info({ migration: file }, 'migration applied');
      }
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [MIGRATION_LOCK]);
    }
  } finally {
    conn.release();
  }
  return applied;
}

/** Splits a migration file on `;` at line ends, leaving out `--` comment lines. */
export function splitStatements(sql: string): string[] {
  const lines = sql.split('\n').filter((l) => !/^\s*--/.test(l));
  return lines
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** True for InnoDB's deadlock and lock-wait-timeout errors, after which the transaction may simply be run again. */
export function isRetryableLockError(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

/** Runs `work` again (up to `attempts` times, with a short jittered pause) when InnoDB rolled it back as a deadlock victim. */
export async function retryOnDeadlock<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (err) {
      if (i >= attempts || !isRetryableLockError(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 * i + Math.random() * 10));
    }
  }
}

/**
 * Runs `work` in a transaction on one connection, committing on success and rolling back on error;
 * `isolation` sets the level for this transaction only.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (conn: PoolConnection) => Promise<T>,
  options: { isolation?: 'READ COMMITTED' | 'REPEATABLE READ' } = {},
): Promise<T> {
  const conn = await pool.getConnection();
  try {
    if (options.isolation) await conn.query(`SET TRANSACTION ISOLATION LEVEL ${options.isolation}`);
    await conn.beginTransaction();
    const result = await work(conn);
    await conn.commit();
    return result;
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
}

/**
 * The deployment's shared secrets in `server_secrets`. Instances starting at once on a fresh database all
 * end up with the first one stored: each offers its value with INSERT IGNORE, then every one reads back the
 * row that won.
 */
export class MysqlSecretStore implements SecretStore {
  constructor(private readonly pool: Pool) {}

  async sharedSecret(name: string, generate: () => string): Promise<string> {
    await this.pool.query('INSERT IGNORE INTO server_secrets (name, value) VALUES (?, ?)', [
      name,
      generate(),
    ]);
    const [rows] = await this.pool.query('SELECT value FROM server_secrets WHERE name = ?', [name]);
    const value = (rows as Array<{ value: string }>)[0]?.value;
    if (!value) throw new Error(`server secret ${name} could not be stored`);
    return value;
  }
}

/** The deployment-wide secret `name` (`MysqlSecretStore.sharedSecret`), for callers that hold only the pool. */
export function sharedSecret(pool: Pool, name: string, generate: () => string): Promise<string> {
  return new MysqlSecretStore(pool).sharedSecret(name, generate);
}

/** True for MySQL's duplicate-key error. */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: string })?.code === 'ER_DUP_ENTRY';
}

export { migrationFiles };
