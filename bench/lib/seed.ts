// Seeding the message store straight through MySQL for the reading scenarios (K API calls would measure
// sending, not reading).
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { BenchUser } from './client-worker';
import { log, privateId, secs } from './setup';

/** A private conversation to seed with `count` messages. */
export interface Conversation {
  id: string;
  a: BenchUser;
  b: BenchUser;
  count: number;
}

/** The private conversations of these pairs, `k` messages spread over them as evenly as whole numbers allow. */
export function spreadOver(pairs: Array<[BenchUser, BenchUser]>, k: number): Conversation[] {
  const per = Math.floor(k / pairs.length);
  return pairs.map(([a, b], i) => ({
    id: privateId(a.id, b.id),
    a,
    b,
    count: per + (i < k - per * pairs.length ? 1 : 0),
  }));
}

/** Messages left unread for each side of a seeded conversation. */
export const UNREAD = 5;
/** The text of every seeded message (with its seq appended). */
export const TEXT = 'a stored message of ordinary length, for paging through history';

/** A random message id like the server's. */
export function messageId(): string {
  return randomBytes(16).toString('hex');
}

/** Batched multi-row INSERTs on a few parallel connections. */
export async function seedMysql(database: string, convs: Conversation[]): Promise<void> {
  const pool = mysql.createPool({ host: '127.0.0.1', user: 'root', database, connectionLimit: 4 });
  const BATCH = 2000;
  const base = Date.now() - 30 * 86400_000;
  const jobs: Array<() => Promise<void>> = [];
  for (const c of convs) {
    for (let from = 1; from <= c.count; from += BATCH) {
      const to = Math.min(c.count, from + BATCH - 1);
      jobs.push(async () => {
        const rows: unknown[][] = [];
        for (let seq = from; seq <= to; seq++) {
          const sender = seq % 2 ? c.a.id : c.b.id;
          rows.push([
            messageId(),
            c.id,
            seq,
            sender,
            'text',
            JSON.stringify({ text: `${TEXT} #${seq}` }),
            `seed-${c.id}-${seq}`,
            'normal',
            new Date(base + seq * 1000),
          ]);
        }
        await pool.query(
          'INSERT INTO messages (id, conversation_id, seq, sender_id, type, content, client_msg_id, status, created_at) VALUES ?',
          [rows],
        );
      });
    }
  }
  let next = 0;
  let done = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < jobs.length) {
        await jobs[next++]();
        done++;
        if (done % 100 === 0) log(`  ${done}/${jobs.length} batches (${secs(started)} s)`);
      }
    }),
  );
  await pool.query(
    'INSERT INTO conversations (id, last_seq, last_at) VALUES ? ON DUPLICATE KEY UPDATE last_seq = VALUES(last_seq), last_at = VALUES(last_at)',
    [convs.map((c) => [c.id, c.count, new Date(base + c.count * 1000)])],
  );
  await pool.query(
    'INSERT INTO user_conversations (user_id, conversation_id, read_seq) VALUES ? ON DUPLICATE KEY UPDATE read_seq = VALUES(read_seq)',
    [convs.flatMap((c) => [c.a, c.b].map((u) => [u.id, c.id, Math.max(0, c.count - UNREAD)]))],
  );
  await pool.query('ANALYZE TABLE messages, conversations, user_conversations');
  await pool.end();
}
