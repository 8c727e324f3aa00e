// K stored messages, then history pages and chat lists under load: requests per second and latency.
// Users and friendships are made through the public API; the K messages are seeded straight into the
// message store in batches (K API calls would measure sending, not reading).
// Usage: npm run bench -- history [--k 1000000] [--users 100] [--friends 5] [--duration 15]
//   [--concurrency 32] [--load-procs 2] [--store mysql|mongo] [--workers 1] [--cpu-prof]
//   [--buffer-pool-mb N]  (MySQL: resize MariaDB's InnoDB buffer pool for the run, restored at the end)
import mongoose from 'mongoose';
import mysql from 'mysql2/promise';
import type { BenchUser } from './lib/client-worker';
import { cpuMeter } from './lib/cpu';
import { Fleet } from './lib/fleet';
import { messageId, seedMysql, spreadOver, TEXT, UNREAD, type Conversation } from './lib/seed';
import { Api } from './lib/http';
import {
  addCounts,
  arg,
  befriend,
  benchServer,
  log,
  num,
  onExit,
  registerUsers,
  report,
  round,
  run,
  secs,
  sleep,
  summary,
} from './lib/setup';

/**
 * Resizes MariaDB's InnoDB buffer pool (a dynamic setting) and waits until the resize is done; the
 * previous size is restored when the bench exits. The server under test is unchanged: this is the
 * database tuning a deployment does for its data size.
 */
async function resizeBufferPool(mb: number): Promise<void> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', user: 'root' });
  const [[{ size }]] = (await conn.query('SELECT @@innodb_buffer_pool_size AS size')) as unknown as [
    Array<{ size: number }>,
  ];
  const resize = async (bytes: number) => {
    await conn.query('SET GLOBAL innodb_buffer_pool_size = ?', [bytes]);
    for (let i = 0; i < 600; i++) {
      const [[{ now }]] = (await conn.query('SELECT @@innodb_buffer_pool_size AS now')) as unknown as [
        Array<{ now: number }>,
      ];
      const [rows] = (await conn.query(
        "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_resize_status'",
      )) as unknown as [Array<{ Value: string }>];
      const status = rows[0]?.Value ?? '';
      if (Number(now) >= bytes * 0.9 && !/resiz|withdraw|allocat/i.test(status)) return;
      await sleep(100);
    }
  };
  await resize(mb * 1024 * 1024);
  log(`InnoDB buffer pool ${Math.round(Number(size) / 1048576)} MB -> ${mb} MB for this run`);
  onExit(async () => {
    await conn.query('SET GLOBAL innodb_buffer_pool_size = ?', [Number(size)]);
    await conn.end();
  });
}

/** The same documents straight into the MongoDB collections of the message store. */
async function seedMongo(uri: string, convs: Conversation[]): Promise<void> {
  const conn = await mongoose.createConnection(uri).asPromise();
  const db = conn.db!;
  const base = Date.now() - 30 * 86400_000;
  const BATCH = 2000;
  const started = Date.now();
  let done = 0;
  for (const c of convs) {
    for (let from = 1; from <= c.count; from += BATCH) {
      const to = Math.min(c.count, from + BATCH - 1);
      const docs = [];
      for (let seq = from; seq <= to; seq++) {
        docs.push({
          _id: messageId() as unknown as mongoose.Types.ObjectId,
          conversationId: c.id,
          seq,
          senderId: seq % 2 ? c.a.id : c.b.id,
          type: 'text',
          content: { text: `${TEXT} #${seq}` },
          clientMsgId: `seed-${c.id}-${seq}`,
          status: 'normal',
          createdAt: new Date(base + seq * 1000),
          recalledAt: null,
        });
      }
      await db.collection('messages').insertMany(docs, { ordered: false });
      done += docs.length;
    }
    if (done % 50_000 < c.count) log(`  ${done} messages (${secs(started)} s)`);
  }
  for (const c of convs) {
    await db
      .collection('conversations')
      .updateOne(
        { _id: c.id as unknown as mongoose.Types.ObjectId },
        { $set: { lastSeq: c.count, lastAt: new Date(base + c.count * 1000) } },
        { upsert: true },
      );
    for (const u of [c.a, c.b]) {
      await db.collection('user_conversations').updateOne(
        { _id: `${u.id}|${c.id}` as unknown as mongoose.Types.ObjectId },
        {
          $set: { readSeq: Math.max(0, c.count - UNREAD) },
          $setOnInsert: {
            userId: u.id,
            conversationId: c.id,
            clearedSeq: 0,
            pinned: false,
            muted: false,
            silenced: false,
            updatedAt: new Date(),
          },
        },
        { upsert: true },
      );
    }
  }
  await conn.close();
}

async function main(): Promise<void> {
  const store = arg('store', 'mysql');
  // jongodb is a test engine: its defaults are small enough to finish in minutes.
  const k = num('k', store === 'mongo' ? 20_000 : 1_000_000);
  const userCount = num('users', 100);
  const friendsEach = Math.min(num('friends', 5), Math.floor((num('users', 100) - 1) / 2));
  const duration = num('duration', 15);
  const concurrency = num('concurrency', store === 'mongo' ? 8 : 32);
  const procs = num('load-procs', 2);

  const bufferPoolMb = num('buffer-pool-mb', 0);
  if (bufferPoolMb > 0 && store === 'mysql') await resizeBufferPool(bufferPoolMb);
  const server = await benchServer();
  if (!server.database)
    throw new Error('history seeds the store directly, so it starts its own server (no --url)');
  log(`server ${server.url} (${server.store}, ${server.workers} worker(s))`);
  const api = new Api(server.url);
  const users = await registerUsers(api, userCount, 'hist');
  const pairs: Array<[BenchUser, BenchUser]> = [];
  for (let i = 0; i < userCount; i++) {
    for (let d = 1; d <= friendsEach; d++) pairs.push([users[i], users[(i + d) % userCount]]);
  }
  await befriend(api, pairs);
  const per = Math.floor(k / pairs.length);
  const convs = spreadOver(pairs, k);
  const seeded = Date.now();
  log(`seeding ${k} messages into ${convs.length} conversations (${per}+ each) ...`);
  if (server.store === 'mongo') await seedMongo(server.mongoUri!, convs);
  else await seedMysql(server.database, convs);
  const seedSeconds = (Date.now() - seeded) / 1000;
  log(`seeded in ${seedSeconds.toFixed(1)} s (${round(k / seedSeconds)} rows/s)`);

  // Latest page and pages at random depths, each read by one of the two participants.
  const historyRequests = Array.from({ length: 4000 }, (_, i) => {
    const c = convs[Math.floor(Math.random() * convs.length)];
    const reader = i % 2 ? c.a : c.b;
    const cursor = i % 4 === 0 ? '' : `&beforeSeq=${2 + Math.floor(Math.random() * (c.count - 1))}`;
    return {
      path: `/api/v1/conversations/${encodeURIComponent(c.id)}/messages?limit=20${cursor}`,
      token: reader.token,
    };
  });
  const chatListRequests = users.map((u) => ({ path: '/api/v1/conversations', token: u.token }));

  const fleet = new Fleet(procs);
  onExit(() => fleet.stop());
  const rows: Record<string, unknown>[] = [];
  const details: Record<string, unknown> = {};
  for (const [name, requests] of [
    ['history page (20)', historyRequests],
    ['chat list', chatListRequests],
  ] as const) {
    // Warm-up, not measured.
    await fleet.all('http', (i) => ({
      httpUrl: server.url,
      localAddress: fleet.address(i),
      requests,
      concurrency: 4,
      durationMs: 2000,
    }));
    log(`${name}: ${concurrency} in flight for ${duration} s ...`);
    const cpu = cpuMeter(server.pid);
    const results = await fleet.all<{
      latencies: number[];
      statuses: Record<string, number>;
      ms: number;
      items: number;
    }>('http', (i) => ({
      httpUrl: server.url,
      localAddress: fleet.address(i),
      requests,
      concurrency: Math.max(1, Math.round(concurrency / procs)),
      durationMs: duration * 1000,
    }));
    const cpuUse = cpu.stop();
    const latencies = results.flatMap((r) => r.latencies);
    const lat = summary(latencies);
    const seconds = Math.max(...results.map((r) => r.ms)) / 1000;
    const statuses = addCounts(results.map((r) => r.statuses));
    const row = {
      request: name,
      stored: k,
      'requests/s': round(latencies.length / seconds),
      'p50 ms': lat.p50,
      'p95 ms': lat.p95,
      'p99 ms': lat.p99,
      'non-200': latencies.length - (statuses['200'] ?? 0),
      'items/reply': round(results.reduce((s, r) => s + r.items, 0) / Math.max(1, latencies.length), 1),
      'server CPU %': cpuUse.server,
      'db CPU %': cpuUse.database,
      'load CPU %': cpuUse.load,
    };
    rows.push(row);
    details[name] = { ...row, latencyMs: lat, statuses, cpu: cpuUse };
    console.table([row]);
    await sleep(1000);
  }
  report('history', server, rows, {
    k,
    users: userCount,
    conversations: convs.length,
    perConversation: per,
    seedSeconds: round(seedSeconds, 1),
    concurrency,
    bufferPoolMb: bufferPoolMb || null,
    loadProcesses: procs,
    duration,
    phases: details,
  });
  api.close();
}

run(main, 3600);
