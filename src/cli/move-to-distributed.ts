import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError, loadConfig, type Config } from '../config';
import { createMysqlPool, migrate, parseMysqlUrl, type Pool } from '../infra/mysql';
import { Redis, RedisKeys, redisOptions } from '../infra/redis';
import { migrateSqlite, SQLITE_FILE, SQLITE_MIGRATIONS, type SqliteDatabase } from '../infra/sqlite';
import { createLogger } from '../shared/logger';

/** Rows per INSERT, each batch in a transaction of its own. */
const BATCH_ROWS = 500;

/** Tables of the embedded database that are not data to move (or move elsewhere: short_lived goes to Redis). */
const NOT_COPIED = new Set(['schema_migrations', 'short_lived']);

/** Embedded columns with no MySQL counterpart: comparison keys that MariaDB's collation makes unneeded. */
const EMBEDDED_ONLY_COLUMNS = new Set(['users.username_key', 'users.nickname_key']);

/** A reason not to move, said in one line; nothing has been written when it is thrown. */
export class MoveRefused extends Error {}

/** What one run moved. */
export interface MoveReport {
  tables: Array<{ table: string; rows: number }>;
  shortLivedKeys: number;
}

/**
 * Copies the embedded deployment under `config.dataDir` into the MySQL database of `config.mysql.url`
 * (migrated first; refused unless it holds no users) and its live short-lived keys into the Redis of
 * `config.redis.url` under `config.redis.prefix`, printing one line per table through `print`. The embedded
 * database is held under an exclusive lock for the whole run, so a server still using it is refused and
 * none can start on it meanwhile. Ids, seqs, password hashes and the stored JWT secret are copied as they
 * are, so every account, history and unexpired token stays valid; uploaded bytes stay where they are.
 */
export async function moveToDistributed(config: Config, print: (line: string) => void): Promise<MoveReport> {
  if (config.mode !== 'distributed') {
    throw new MoveRefused('set MYSQL_URL and REDIS_URL to the MySQL database and Redis to move into');
  }
  if (config.mongodb.uri) {
    throw new MoveRefused(
      'moving messages into MongoDB is not supported: unset MONGODB_URI to move them into MySQL',
    );
  }
  const file = path.join(path.resolve(config.dataDir), SQLITE_FILE);
  if (!fs.existsSync(file)) throw new MoveRefused(`no embedded database at ${file} (check DATA_DIR)`);

  const sqlite = openExclusive(file);
  let pool: Pool | null = null;
  let redis: Redis | null = null;
  try {
    const logger = createLogger({ level: 'warn' });
    // An embedded database of an older release gets the tables it lacks, so every table below exists.
    migrateSqlite(sqlite, SQLITE_MIGRATIONS, logger);

    pool = await createMysqlPool(config.mysql.url, 2);
    await migrate(pool, path.resolve(__dirname, '../../sql'), logger);
    const { database } = parseMysqlUrl(config.mysql.url);
    const [[{ users }]] = (await pool.query('SELECT COUNT(*) AS users FROM users')) as unknown as [
      [{ users: number }],
    ];
    if (Number(users) > 0) {
      throw new MoveRefused(
        `the MySQL database ${database} already holds ${users} user${Number(users) === 1 ? '' : 's'}: move into an empty database`,
      );
    }
    redis = new Redis(config.redis.url, redisOptions(config.redis.commandTimeoutMs));
    redis.on('error', () => undefined);
    await redis.connect();

    const report: MoveReport = { tables: [], shortLivedKeys: 0 };
    try {
      for (const table of tablesToCopy(sqlite)) {
        const rows = await copyTable(sqlite, pool, table);
        report.tables.push({ table, rows });
        print(`${table}: ${rows}`);
      }
      report.shortLivedKeys = await moveShortLived(sqlite, redis, new RedisKeys(config.redis.prefix));
      print(`short-lived keys (Redis): ${report.shortLivedKeys}`);
    } catch (err) {
      throw new Error(
        `${(err as Error).message}; the MySQL database ${database} is partly written: drop it before running again`,
        { cause: err },
      );
    }
    const rows = report.tables.reduce((sum, t) => sum + t.rows, 0);
    print(
      `moved ${rows} rows of ${report.tables.length} tables into ${database} and ${report.shortLivedKeys} ` +
        `short-lived keys under ${config.redis.prefix}; start the server with MYSQL_URL and REDIS_URL set ` +
        `and the same DATA_DIR (uploaded files stay there)`,
    );
    return report;
  } finally {
    sqlite.close();
    await pool?.end();
    redis?.disconnect();
  }
}

/**
 * Opens the embedded database and takes its exclusive lock, kept until close (locking_mode EXCLUSIVE): a
 * running server holds a shared lock, so it makes this fail at once, and a server started later waits.
 */
function openExclusive(file: string): SqliteDatabase {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
      throw new MoveRefused(`the embedded database ${file} is in use: stop the server first`);
    }
    throw err;
  }
}

/** The embedded database's data tables, users first. */
function tablesToCopy(db: SqliteDatabase): string[] {
  const names = (
    db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as Array<{ name: string }>
  )
    .map((r) => r.name)
    .filter((name) => !NOT_COPIED.has(name));
  return names.sort((a, b) => Number(b === 'users') - Number(a === 'users'));
}

/**
 * Copies one table in batches, each in a transaction, converting what the two schemas keep differently:
 * times are epoch milliseconds in SQLite and DATETIME(3) (UTC, as the pool writes them) in MySQL. A table or
 * column MySQL does not have fails the move, so no data is left behind unnoticed.
 */
async function copyTable(db: SqliteDatabase, pool: Pool, table: string): Promise<number> {
  const [targetRows] = (await pool.query(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [table],
  )) as unknown as [Array<{ name: string; type: string }>];
  if (!targetRows.length) throw new Error(`table ${table} of the embedded database has no MySQL counterpart`);
  const targetType = new Map(targetRows.map((c) => [c.name, c.type.toLowerCase()]));
  const columns = (db.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string }>)
    .map((c) => c.name)
    .filter((name) => {
      if (targetType.has(name)) return true;
      if (EMBEDDED_ONLY_COLUMNS.has(`${table}.${name}`)) return false;
      throw new Error(`column ${table}.${name} of the embedded database has no MySQL counterpart`);
    });
  const convert = columns.map((name) => {
    const type = targetType.get(name);
    if (type === 'datetime' || type === 'timestamp') {
      return (v: unknown) => (v === null ? null : new Date(Number(v)));
    }
    return (v: unknown) => v;
  });

  const list = columns.map((c) => `\`${c}\``).join(', ');
  const insert = `INSERT INTO \`${table}\` (${list}) VALUES ?`;
  const conn = await pool.getConnection();
  let count = 0;
  try {
    const flush = async (batch: unknown[][]) => {
      await conn.beginTransaction();
      try {
        await conn.query(insert, [batch]);
        await conn.commit();
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw new Error(`copying ${table}: ${(err as Error).message}`, { cause: err });
      }
      count += batch.length;
    };
    let batch: unknown[][] = [];
    const select = db.prepare(`SELECT ${columns.map((c) => `"${c}"`).join(', ')} FROM "${table}"`).raw();
    for (const row of select.iterate() as Iterable<unknown[]>) {
      batch.push(row.map((v, i) => convert[i](v)));
      if (batch.length === BATCH_ROWS) {
        await flush(batch);
        batch = [];
      }
    }
    if (batch.length) await flush(batch);
    // AUTOINCREMENT never reuses the id of a deleted row; neither shall MySQL.
    const seq = db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').get(table) as
      { seq: number } | undefined;
    if (seq) await conn.query(`ALTER TABLE \`${table}\` AUTO_INCREMENT = ${Number(seq.seq) + 1}`);
  } finally {
    conn.release();
  }
  return count;
}

/** Copies the unexpired short-lived keys (token revocations and the like) with the time they have left. */
async function moveShortLived(db: SqliteDatabase, redis: Redis, keys: RedisKeys): Promise<number> {
  const now = Date.now();
  const rows = db
    .prepare('SELECT key, value, expires_at FROM short_lived WHERE expires_at > ? ORDER BY key')
    .all(now) as Array<{ key: string; value: string; expires_at: number }>;
  for (let i = 0; i < rows.length; i += BATCH_ROWS) {
    const pipeline = redis.multi();
    for (const row of rows.slice(i, i + BATCH_ROWS)) {
      pipeline.set(keys.key(row.key), row.value, 'PX', Math.max(1, row.expires_at - now));
    }
    const replies = await pipeline.exec();
    const failed = replies?.find(([err]) => err);
    if (!replies || failed) throw new Error(`writing short-lived keys to Redis: ${failed?.[0] ?? 'aborted'}`);
  }
  return rows.length;
}

async function main(): Promise<number> {
  try {
    await moveToDistributed(loadConfig(), (line) => process.stdout.write(`${line}\n`));
    return 0;
  } catch (err) {
    const known = err instanceof MoveRefused || err instanceof ConfigError;
    process.stderr.write(`${known ? '' : 'move failed: '}${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) void main().then((code) => process.exit(code));
