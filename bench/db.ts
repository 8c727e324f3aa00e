// The database's own ceiling on this machine, with no server in between: raw mysql2 on the real schema
// (sql/ migrations applied to a scratch database jim_bench_db). Shows what bounds the message figures:
// commits per second (one fsync per group commit), the store's seq transaction as the server runs it, batched
// inserts, the store's own append with group commit, and the history page query.
// Usage: npm run bench -- db [--duration 5] [--concurrency 1,10,32] [--rows 1000000]
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import { createMysqlPool, migrate } from '../src/infra/mysql';
import { MysqlMessageStore } from '../src/modules/messages/messages.store.mysql';
import { createLogger } from '../src/shared/logger';
import { arg, log, machine, num, round, run, summary } from './lib/setup';
import fs from 'node:fs';

const ROOT = path.resolve(__dirname, '..');
const DB = 'jim_bench_db';

type Pool = mysql.Pool;

/** Runs `op` in `concurrency` lanes for `seconds`; returns ops/s and latency. */
async function measure(concurrency: number, seconds: number, op: (lane: number, n: number) => Promise<void>) {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      let n = 0;
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await op(lane, n++);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const s = (performance.now() - started) / 1000;
  return { perSecond: round(latencies.length / s), latency: summary(latencies) };
}

const id = () => randomBytes(16).toString('hex');
let counter = 0;

async function singleInsert(pool: Pool, conversation: string): Promise<void> {
  const n = ++counter;
  await pool.query(
    `INSERT INTO messages (id, conversation_id, seq, sender_id, type, content, client_msg_id, status, created_at)
     VALUES (?, ?, ?, '1', 'text', '{"text":"x"}', ?, 'normal', NOW(3))`,
    [id(), conversation, n, `raw-${n}`],
  );
}

/** The MySQL store's one-message append (its path before group commit, and still for a lone message). */
async function storeAppend(pool: Pool, conversation: string): Promise<void> {
  const n = ++counter;
  const clientMsgId = `tx-${n}`;
  await pool.query('SELECT id FROM messages WHERE sender_id = ? AND client_msg_id = ?', ['1', clientMsgId]);
  await pool.query('INSERT IGNORE INTO user_conversations (user_id, conversation_id) VALUES (?, ?), (?, ?)', [
    '1',
    conversation,
    '2',
    conversation,
  ]);
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    await conn.query(
      `INSERT INTO conversations (id, last_seq, last_at) VALUES (?, 1, NOW(3))
       ON DUPLICATE KEY UPDATE last_seq = last_seq + 1, last_at = GREATEST(last_at, VALUES(last_at))`,
      [conversation],
    );
    const [rows] = await conn.query<mysql.RowDataPacket[]>(
      'SELECT last_seq FROM conversations WHERE id = ?',
      [conversation],
    );
    await conn.query(
      `INSERT INTO messages (id, conversation_id, seq, sender_id, type, content, client_msg_id, status, created_at)
       VALUES (?, ?, ?, '1', 'text', '{"text":"x"}', ?, 'normal', NOW(3))`,
      [id(), conversation, rows[0].last_seq, clientMsgId],
    );
    await conn.commit();
  } catch (err) {
    await conn.rollback();
    throw err;
  } finally {
    conn.release();
  }
}

async function batchInsert(pool: Pool, conversation: string, size: number): Promise<void> {
  const rows = [];
  for (let i = 0; i < size; i++) {
    const n = ++counter;
    rows.push([id(), conversation, n, '1', 'text', '{"text":"x"}', `b-${n}`, 'normal', new Date()]);
  }
  await pool.query(
    'INSERT INTO messages (id, conversation_id, seq, sender_id, type, content, client_msg_id, status, created_at) VALUES ?',
    [rows],
  );
}

async function main(): Promise<void> {
  const seconds = num('duration', 5);
  const levels = arg('concurrency', '1,10,32').split(',').map(Number);
  const rowsWanted = num('rows', 1_000_000);
  const admin = await mysql.createConnection({ host: '127.0.0.1', user: 'root' });
  await admin.query(`DROP DATABASE IF EXISTS \`${DB}\``);
  await admin.end();
  const pool = (await createMysqlPool(
    `mysql://root@127.0.0.1:3306/${DB}`,
    Math.max(...levels, 8),
  )) as unknown as Pool;
  await migrate(pool as never, path.join(ROOT, 'sql'), createLogger({ level: 'warn' }));
  const [vars] = await pool.query<mysql.RowDataPacket[]>(
    "SHOW VARIABLES WHERE Variable_name IN ('version', 'innodb_flush_log_at_trx_commit', 'innodb_buffer_pool_size', 'sync_binlog', 'log_bin')",
  );
  const settings = Object.fromEntries(vars.map((v) => [v.Variable_name, v.Value]));
  log(
    `MariaDB ${settings.version}; innodb_flush_log_at_trx_commit=${settings.innodb_flush_log_at_trx_commit}`,
  );

  const rows: Record<string, unknown>[] = [];
  const add = (test: string, concurrency: number, r: Awaited<ReturnType<typeof measure>>, unit = 'ops/s') => {
    const row = { test, concurrency, [unit]: r.perSecond, 'p50 ms': r.latency.p50, 'p99 ms': r.latency.p99 };
    rows.push({
      test,
      concurrency,
      'per second': r.perSecond,
      unit,
      'p50 ms': r.latency.p50,
      'p99 ms': r.latency.p99,
    });
    console.table([row]);
  };
  for (const c of levels) {
    add(
      'autocommit single-row INSERT',
      c,
      await measure(c, seconds, (lane) => singleInsert(pool, `p:raw:${lane}`)),
      'rows/s',
    );
  }
  for (const c of levels) {
    // One conversation per lane (private chats), as in the dm scenario.
    add(
      'one-message append (7 statements, 1 commit)',
      c,
      await measure(c, seconds, (lane) => storeAppend(pool, `p:tx:${lane}`)),
      'msgs/s',
    );
  }
  add(
    'one-message append, all lanes one conversation',
    32,
    await measure(32, seconds, () => storeAppend(pool, 'g:hot')),
    'msgs/s',
  );
  // The store itself (group commit), no server: many concurrent appends over 100 private conversations.
  const store = new MysqlMessageStore(pool as never);
  add(
    'MysqlMessageStore.append, group commit',
    400,
    await measure(400, seconds, (lane, n) =>
      store
        .append({
          conversationId: `p:${1000 + (lane % 100)}:${2000 + (lane % 100)}`,
          senderId: String(1000 + (lane % 100)),
          type: 'text',
          content: { text: 'x' },
          clientMsgId: `s-${lane}-${n}-${counter++}`,
          participants: [String(1000 + (lane % 100)), String(2000 + (lane % 100))],
        })
        .then(() => undefined),
    ),
    'msgs/s',
  );
  const batch = await measure(4, seconds, (lane) => batchInsert(pool, `p:batch:${lane}`, 100));
  rows.push({
    test: 'INSERT of 100 rows per statement',
    concurrency: 4,
    'per second': batch.perSecond * 100,
    unit: 'rows/s',
    'p50 ms': batch.latency.p50,
    'p99 ms': batch.latency.p99,
  });
  console.table([rows[rows.length - 1]]);

  // History page: the server's query on a table of `rows` messages in 1,000 conversations.
  const [[{ n: have }]] = await pool.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM messages');
  const fill = Math.max(0, rowsWanted - Number(have));
  const t0 = Date.now();
  for (let done = 0; done < fill;) {
    const jobs = [];
    for (let j = 0; j < 4 && done < fill; j++) {
      const size = Math.min(5000, fill - done);
      jobs.push(batchInsert(pool, `p:h:${Math.floor(Math.random() * 1000)}`, size));
      done += size;
    }
    await Promise.all(jobs);
  }
  log(`history table at ${rowsWanted} rows (filled ${fill} in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  await pool.query('ANALYZE TABLE messages');
  const [convs] = await pool.query<mysql.RowDataPacket[]>(
    "SELECT conversation_id AS c, MAX(seq) AS s FROM messages WHERE conversation_id LIKE 'p:h:%' GROUP BY conversation_id",
  );
  const page = await measure(32, seconds, async () => {
    const c = convs[Math.floor(Math.random() * convs.length)];
    await pool.query(
      `SELECT m.id, m.conversation_id, m.seq, m.sender_id, m.type, m.content, m.client_msg_id, m.status, m.created_at
       FROM messages m WHERE m.conversation_id = ? AND m.seq < ?
         AND NOT EXISTS (SELECT 1 FROM message_hides h WHERE h.user_id = ? AND h.message_id = m.id)
       ORDER BY m.seq DESC LIMIT 20`,
      [c.c, 1 + Math.floor(Math.random() * Number(c.s)), '1'],
    );
  });
  add(`history page query (${rowsWanted} rows)`, 32, page, 'queries/s');

  const full = { scenario: 'db', date: new Date().toISOString(), machine: machine(), settings, rows };
  console.table(rows);
  console.log(JSON.stringify(full, null, 2));
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `db-mysql-${Date.now()}.json`), JSON.stringify(full, null, 2));
  await pool.end();
  const cleanup = await mysql.createConnection({ host: '127.0.0.1', user: 'root' });
  await cleanup.query(`DROP DATABASE IF EXISTS \`${DB}\``);
  await cleanup.end();
}

run(main, 1800);
