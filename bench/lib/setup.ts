// Shared plumbing of the messaging scenarios: options, the server under test (started here or --url), users
// and relations through the public API, percentiles, and the report (table + JSON + bench/results/).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { startJongodb, type Jongodb } from '../../test/helpers/jongodb';
import type { BenchUser } from './client-worker';
import { Api } from './http';
import { inLanes } from './lanes';
import { startServer } from './server-process';

export { inLanes };

const ROOT = path.resolve(__dirname, '../..');

/** `--name value` from the command line, or the fallback. */
export function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

/** `--name value` as a number. */
export function num(name: string, fallback: number): number {
  const v = Number(arg(name, String(fallback)));
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number`);
  return v;
}

/** Whether `--name` is present. */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Run on the way out (also when the time limit hits), so no server or load process outlives the bench.
const cleanups: Array<() => Promise<void>> = [];

/** Registers a step for the way out (last registered runs first). */
export function onExit(fn: () => Promise<void>): void {
  cleanups.unshift(fn);
}

async function cleanUp(): Promise<void> {
  for (const fn of cleanups.splice(0)) await fn().catch((err: unknown) => console.error('cleanup:', err));
}

/** The server under test. */
export interface BenchServer {
  url: string;
  /** Where messages are stored: MySQL or MongoDB (distributed mode), or SQLite (the embedded mode). */
  store: 'mysql' | 'mongo' | 'sqlite';
  workers: number;
  /** The server process id when started here. */
  pid: number | null;
  /** The MySQL database when started here (for seeding). */
  database: string | null;
  /** The MongoDB URI when started here with `--store mongo`. */
  mongoUri: string | null;
  stop: () => Promise<void>;
}

/**
 * Starts the server (database `jim_bench` dropped and recreated, Redis prefix `jimbench:` cleared,
 * captcha off, rate limits lifted (the per-user ones still counted, only high)) or uses `--url`. Options:
 * `--store mysql|mongo|sqlite` (sqlite: the embedded mode, no MySQL or Redis, DATA_DIR a fresh temporary
 * directory), `--workers N`
 * (SERVER_WORKERS), `--pool N` (MYSQL_POOL_SIZE), `--cpu-prof` (profiles into bench/results/profiles/).
 */
export async function benchServer(extraEnv: Record<string, string> = {}): Promise<BenchServer> {
  const store = arg('store', 'mysql') as BenchServer['store'];
  if (!['mysql', 'mongo', 'sqlite'].includes(store))
    throw new Error('--store must be mysql, mongo or sqlite');
  const workers = num('workers', 1);
  if (store === 'sqlite' && workers !== 1)
    throw new Error('--store sqlite (the embedded mode) runs one worker');
  const external = arg('url', '');
  if (external) {
    return { url: external, store, workers, pid: null, database: null, mongoUri: null, stop: async () => {} };
  }
  const database = 'jim_bench';
  const prefix = 'jimbench:';
  const embedded = store === 'sqlite';
  const dataDir = embedded ? fs.mkdtempSync(path.join(os.tmpdir(), 'jim-bench-')) : null;
  if (!embedded) {
    await dropDatabase(database);
    await clearRedis(prefix);
  }
  let jongodb: Jongodb | null = null;
  if (store === 'mongo') jongodb = await startJongodb(database);
  const nodeArgs: string[] = [];
  if (flag('cpu-prof')) {
    const dir = path.join(ROOT, 'bench', 'results', 'profiles');
    fs.mkdirSync(dir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  }
  const env: Record<string, string> = {
    NODE_ENV: 'development',
    // Both URLs: the distributed mode; neither (empty): the embedded one, under its own DATA_DIR.
    MYSQL_URL: embedded ? '' : `mysql://root@127.0.0.1:3306/${database}`,
    REDIS_URL: embedded ? '' : process.env.REDIS_URL || 'redis://127.0.0.1:6379/0',
    ...(dataDir ? { DATA_DIR: dataDir } : {}),
    MYSQL_POOL_SIZE: String(num('pool', 10)),
    REDIS_PREFIX: prefix,
    CAPTCHA_ENABLED: 'false',
    RATE_LIMIT_REGISTER_PER_MINUTE: '100000000',
    RATE_LIMIT_LOGIN_PER_MINUTE: '100000000',
    RATE_LIMIT_MESSAGES_PER_SECOND: '100000000',
    RATE_LIMIT_FRIEND_REQUESTS_PER_MINUTE: '100000000',
    RATE_LIMIT_JOIN_REQUESTS_PER_MINUTE: '100000000',
    RATE_LIMIT_GROUP_CREATIONS_PER_MINUTE: '100000000',
    RATE_LIMIT_PROFILE_CHANGES_PER_MINUTE: '100000000',
    RATE_LIMIT_TYPING_INTERVAL_SECONDS: '0',
    WS_FRAMES_PER_SECOND: '1000000',
    WS_MAX_BUFFERED_BYTES: String(64 * 1024 * 1024),
    LOG_LEVEL: 'warn',
    SERVER_WORKERS: String(workers),
    ...(jongodb ? { MONGODB_URI: jongodb.uri } : {}),
    ...extraEnv,
  };
  const { child, url } = await startServer(env, nodeArgs);
  const stop = async () => {
    await stopChild(child);
    if (jongodb) await jongodb.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    else await clearRedis(prefix);
  };
  onExit(stop);
  if (workers > 1) await sleep(3000); // every worker listening, not just the first
  return {
    url,
    store,
    workers,
    pid: child.pid ?? null,
    database: embedded ? null : database,
    mongoUri: jongodb?.uri ?? null,
    stop,
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** Drops a database of the shared MariaDB (bench databases only). */
export async function dropDatabase(database: string): Promise<void> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', user: 'root' });
  await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await conn.end();
}

/** Deletes the keys under `prefix` from the shared Redis, a SCAN page at a time. */
export async function clearRedis(prefix: string): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379/0');
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

/** Registers `count` users through POST /api/v1/auth/register. */
export async function registerUsers(api: Api, count: number, label: string): Promise<BenchUser[]> {
  const tag = `${label}${Date.now().toString(36)}`;
  const users: BenchUser[] = new Array(count);
  const started = Date.now();
  await inLanes(
    Array.from({ length: count }, (_, i) => i),
    12,
    async (i) => {
      const body = await api.must<{ user: { id: string }; token: string }>(
        'POST',
        '/api/v1/auth/register',
        undefined,
        {
          username: `b_${tag}_${i}`,
          password: 'Bench-Passw0rd',
        },
      );
      users[i] = { id: body.user.id, token: body.token };
    },
  );
  log(`registered ${count} users in ${secs(started)} s`);
  return users;
}

/** Makes each pair friends: a request from the first, accepted by the second. */
export async function befriend(api: Api, pairs: Array<[BenchUser, BenchUser]>): Promise<void> {
  const started = Date.now();
  await inLanes(pairs, 16, async ([a, b]) => {
    const req = await api.must<{ id: string }>('POST', '/api/v1/friend-requests', a.token, { userId: b.id });
    await api.must('POST', `/api/v1/friend-requests/${req.id}/accept`, b.token, {});
  });
  log(`made ${pairs.length} friendships in ${secs(started)} s`);
}

/** `p:<small>:<large>` for two users. */
export function privateId(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? `p:${a}:${b}` : `p:${b}:${a}`;
}

/** p-th percentile (0..100) of unsorted numbers, rounded to 0.1; null when empty. */
export function percentile(values: number[], p: number, sorted = false): number | null {
  if (!values.length) return null;
  const s = sorted ? values : [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return round(s[i], 1);
}

/** p50/p95/p99/max/mean of a list of milliseconds. */
export function summary(values: number[]) {
  const s = Float64Array.from(values).sort();
  const arr = Array.from(s);
  const mean = arr.length ? arr.reduce((a, b) => a + b, 0) / arr.length : null;
  return {
    count: arr.length,
    p50: percentile(arr, 50, true),
    p95: percentile(arr, 95, true),
    p99: percentile(arr, 99, true),
    max: arr.length ? round(arr[arr.length - 1], 1) : null,
    mean: mean === null ? null : round(mean, 1),
  };
}

/** Per-key counts of several load processes added up. */
export function addCounts(counts: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of counts) for (const [k, n] of Object.entries(c)) out[k] = (out[k] ?? 0) + n;
  return out;
}

export function round(v: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function secs(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}

export function log(line: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** The machine, for every report. */
export function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGB: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    // Other work on the machine skews every figure: the 1/5/15-minute load averages when the report was made.
    loadAverage: os.loadavg().map((l) => round(l, 2)),
  };
}

/** Prints the table and the JSON, and saves the JSON under bench/results/. */
export function report(
  scenario: string,
  server: BenchServer,
  rows: Record<string, unknown>[],
  data: object,
): void {
  const full = {
    scenario,
    store: server.store,
    storeNote:
      server.store === 'mongo'
        ? 'MongoDB through jongodb, a test engine: these figures show function, not speed'
        : server.store === 'sqlite'
          ? 'embedded mode: SQLite under a temporary DATA_DIR, delivery in-process'
          : 'MySQL store (MariaDB)',
    workers: server.workers,
    date: new Date().toISOString(),
    machine: machine(),
    argv: process.argv.slice(2),
    ...data,
    rows,
  };
  console.table(rows);
  if (server.store === 'mongo') console.log('NOTE: jongodb figures are for function, not speed.');
  console.log(JSON.stringify(full, null, 2));
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${scenario}-${server.store}-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(full, null, 2));
  log(`saved ${path.relative(ROOT, file)}`);
}

/** Runs a scenario: a hard time limit, and the server stopped whatever happens. */
export function run(main: () => Promise<void>, limitSeconds: number): void {
  const limit = setTimeout(() => {
    console.error(`time limit of ${limitSeconds} s reached; stopping`);
    void cleanUp().finally(() => process.exit(3));
  }, limitSeconds * 1000);
  limit.unref();
  main().then(
    () => cleanUp().finally(() => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      void cleanUp().finally(() => process.exit(1));
    },
  );
}
