import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/shared/logger';
import { createMysqlPool, migrate, migrationFiles, splitStatements, type Pool } from '../../src/infra/mysql';
import { dropDatabase, isolation } from '../helpers/app';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql');

const logger = createLogger({ level: 'silent' });

/** A temp dir holding these migration files. */
function sqlDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-sql-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const FILES = {
  '001_things.sql': `-- things
CREATE TABLE things (
  id INT NOT NULL PRIMARY KEY,
  label VARCHAR(20) NOT NULL DEFAULT 'a;b'
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE runs (file VARCHAR(40) NOT NULL) ENGINE=InnoDB;
INSERT INTO runs (file) VALUES ('001');
`,
  '002_more.sql': `ALTER TABLE things ADD COLUMN note VARCHAR(10) NULL;
INSERT INTO runs (file) VALUES ('002');`,
  '010_last.sql': "INSERT INTO runs (file) VALUES ('010');\n",
  'README.md': 'not a migration',
};

async function runs(pool: Pool): Promise<string[]> {
  const [rows] = await pool.query('SELECT file FROM runs ORDER BY file');
  return (rows as Array<{ file: string }>).map((r) => r.file);
}

async function recorded(pool: Pool): Promise<string[]> {
  const [rows] = await pool.query('SELECT version FROM schema_migrations ORDER BY version');
  return (rows as Array<{ version: string }>).map((r) => r.version);
}

needsServers('migrate', () => {
  let url: string;
  let pools: Pool[] = [];
  let dirs: string[] = [];
  const pool = async () => {
    const p = await createMysqlPool(url, 2);
    pools.push(p);
    return p;
  };
  const dir = (files: Record<string, string>) => {
    const d = sqlDir(files);
    dirs.push(d);
    return d;
  };

  beforeEach(() => {
    url = isolation().mysqlUrl;
  });
  afterEach(async () => {
    await Promise.all(pools.map((p) => p.end()));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    pools = [];
    dirs = [];
    await dropDatabase(url);
  });

  it('creates the database and applies the numbered files in order on a fresh database', async () => {
    const p = await pool();
    const applied = await migrate(p, dir(FILES), logger);
    expect(applied).toEqual(['001_things.sql', '002_more.sql', '010_last.sql']);
    expect(await runs(p)).toEqual(['001', '002', '010']);
    expect(await recorded(p)).toEqual(applied);
    const [cols] = await p.query('SHOW COLUMNS FROM things');
    expect((cols as Array<{ Field: string }>).map((c) => c.Field)).toEqual(['id', 'label', 'note']);
  });

  it('is idempotent: a second run applies nothing', async () => {
    const p = await pool();
    const d = dir(FILES);
    await migrate(p, d, logger);
    expect(await migrate(p, d, logger)).toEqual([]);
    expect(await runs(p)).toEqual(['001', '002', '010']);
  });

  it('applies only files added since the last run', async () => {
    const p = await pool();
    const d = dir(FILES);
    await migrate(p, d, logger);
    fs.writeFileSync(path.join(d, '011_new.sql'), "INSERT INTO runs (file) VALUES ('011');");
    expect(await migrate(p, d, logger)).toEqual(['011_new.sql']);
    expect(await runs(p)).toEqual(['001', '002', '010', '011']);
  });

  it('applies each file once when two instances migrate at the same time', async () => {
    const [a, b] = [await pool(), await pool()];
    const d = dir(FILES);
    const [fromA, fromB] = await Promise.all([migrate(a, d, logger), migrate(b, d, logger)]);
    expect([...fromA, ...fromB].sort()).toEqual(['001_things.sql', '002_more.sql', '010_last.sql']);
    expect(await runs(a)).toEqual(['001', '002', '010']);
    expect(await recorded(a)).toEqual(['001_things.sql', '002_more.sql', '010_last.sql']);
  });

  it('stops at a failing file without recording it, releases the lock, and resumes once fixed', async () => {
    const p = await pool();
    const d = dir({ ...FILES, '002_more.sql': 'ALTER TABLE nowhere ADD COLUMN x INT;' });
    await expect(migrate(p, d, logger)).rejects.toThrow();
    expect(await recorded(p)).toEqual(['001_things.sql']);
    const [lock] = await p.query("SELECT IS_FREE_LOCK('jim_schema_migrations') AS free");
    expect(Number((lock as Array<{ free: number }>)[0].free)).toBe(1);
    fs.writeFileSync(path.join(d, '002_more.sql'), FILES['002_more.sql']);
    expect(await migrate(p, d, logger)).toEqual(['002_more.sql', '010_last.sql']);
  });

  it('applies the accounts migration with utf8mb4 tables', async () => {
    const p = await pool();
    const d = dir({
      '001_accounts.sql': fs.readFileSync(path.resolve(__dirname, '../../sql/001_accounts.sql'), 'utf8'),
    });
    await migrate(p, d, logger);
    await migrate(p, d, logger);
    const [rows] = await p.query(
      "SELECT TABLE_COLLATION AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users'",
    );
    expect((rows as Array<{ c: string }>)[0].c).toMatch(/^utf8mb4_/);
    const [db] = await p.query('SELECT @@character_set_database AS cs');
    expect((db as Array<{ cs: string }>)[0].cs).toBe('utf8mb4');
  });
});

describe('migrationFiles', () => {
  it('orders by number, not by text, and ignores other files', () => {
    expect(migrationFiles(['020_c.sql', '1000_d.sql', '001_a.sql', 'notes.txt', '010_b.sql'])).toEqual([
      '001_a.sql',
      '010_b.sql',
      '020_c.sql',
      '1000_d.sql',
    ]);
  });

  it('refuses a misnamed .sql file instead of skipping it', () => {
    for (const name of ['3_short.sql', 'accounts.sql', '001 accounts.sql', '001_.sql']) {
      expect(() => migrationFiles(['001_a.sql', name])).toThrow(name);
    }
  });
});

describe('splitStatements', () => {
  it('splits on ; at line ends and drops comment lines', () => {
    expect(
      splitStatements(`-- header
CREATE TABLE a (x VARCHAR(5) DEFAULT 'a;b');
  -- indented comment
INSERT INTO a VALUES ('1');   
INSERT INTO a VALUES ('2')`),
    ).toEqual([
      "CREATE TABLE a (x VARCHAR(5) DEFAULT 'a;b')",
      "INSERT INTO a VALUES ('1')",
      "INSERT INTO a VALUES ('2')",
    ]);
  });

  it('handles Windows line ends', () => {
    expect(splitStatements('SELECT 1;\r\nSELECT 2;\r\n')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('returns nothing for an empty or comment-only file', () => {
    expect(splitStatements('')).toEqual([]);
    expect(splitStatements('-- nothing\n\n')).toEqual([]);
  });
});
