// Opens N authenticated idle WebSocket connections against one instance and reports the server's RSS per
// connection and the connection rate. Usage: npm run bench -- connections --n 19000 [--per-user 10]
// [--url http://host:port --pid <server pid> [--inspect-port <its --inspect port>]] [--load-procs 2]
// [--concurrency 200] [--settle 5]
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { collectGarbage } from './lib/inspector';
import { freePort, metricOf, rssOf, startServer, stopServer } from './lib/server-process';

const ROOT = path.resolve(__dirname, '..');

function arg(name: string, fallback?: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const n = Number(arg('n', '1000'));
const perUser = Number(arg('per-user', '10'));
const loadProcs = Number(arg('load-procs', String(Math.max(1, Math.ceil(n / 9000)))));
const concurrency = Number(arg('concurrency', '200'));
const settleSeconds = Number(arg('settle', '5'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function register(url: string, count: number): Promise<string[]> {
  const tag = randomBytes(3).toString('hex');
  const tokens: string[] = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const res = await fetch(`${url}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: `bench_${tag}_${i}`, password: 'Bench-Passw0rd' }),
      });
      if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
      tokens[i] = ((await res.json()) as { token: string }).token;
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return tokens;
}

function loadProcess(): ChildProcess {
  return fork(path.join(__dirname, 'lib', 'load-worker.ts'), [], {
    execArgv: ['-r', path.join(ROOT, 'scripts', 'ts-register.js')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function request<T>(child: ChildProcess, msg: Record<string, unknown>, reply: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (m: { cmd: string; error?: string }) => {
      if (m.cmd === 'error') reject(new Error(m.error));
      if (m.cmd !== reply) return;
      child.off('message', on);
      resolve(m as T);
    };
    child.on('message', on);
    child.send(msg);
  });
}

async function main(): Promise<void> {
  const tag = randomBytes(4).toString('hex');
  const database = `jim_bench_${tag}`;
  const prefix = `jimbench:${tag}:`;
  let url = arg('url');
  let pid = arg('pid') ? Number(arg('pid')) : null;
  let server: ChildProcess | null = null;
  let inspectPort = arg('inspect-port') ? Number(arg('inspect-port')) : null;
  const serverEnv = {
    NODE_ENV: 'development',
    MYSQL_URL: `mysql://root@127.0.0.1:3306/${database}`,
    REDIS_PREFIX: prefix,
    CAPTCHA_ENABLED: 'false',
    RATE_LIMIT_REGISTER_PER_MINUTE: '1000000',
    WS_MAX_CONNECTIONS_PER_USER: String(Math.max(10, perUser)),
    LOG_LEVEL: 'warn',
  };
  if (!url) {
    const started = await startServer(serverEnv);
    server = started.child;
    url = started.url;
  }
  const users = Math.ceil(n / perUser);
  console.log(`server ${url}; registering ${users} users ...`);
  const t = Date.now();
  const userTokens = await register(url, users);
  console.log(`registered ${users} users in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  if (server) {
    // Measure a fresh process: registration leaves heap garbage that would blur the "before" figure.
    await stopServer(server);
    inspectPort = await freePort();
    const restarted = await startServer(serverEnv, [`--inspect=127.0.0.1:${inspectPort}`]);
    server = restarted.child;
    url = restarted.url;
    pid = server.pid ?? null;
    console.log(`measuring a fresh server ${url} (pid ${pid})`);
  }
  const wsUrl = url.replace(/^http/, 'ws');

  const procs = Array.from({ length: loadProcs }, loadProcess);
  const address = (i: number) => `127.0.0.${2 + i}`;
  // Warm-up: run the upgrade path once so code compiled on first use is not counted per connection.
  await request(procs[0], { cmd: 'open', wsUrl, tokens: userTokens.slice(0, 50), concurrency: 10 }, 'opened');
  await request(procs[0], { cmd: 'close' }, 'closed');
  await sleep(3000);

  if (inspectPort) await collectGarbage(inspectPort);
  const rssBefore = pid ? rssOf(pid) : null;
  const heapBefore = await metricOf(url, 'jim_nodejs_heap_size_used_bytes');
  const tokens = Array.from({ length: n }, (_, i) => userTokens[i % users]);
  const share = Math.ceil(n / loadProcs);
  const started = Date.now();
  const results = await Promise.all(
    procs.map((p, i) =>
      request<{ opened: number; failed: number; ms: number }>(
        p,
        {
          cmd: 'open',
          wsUrl,
          tokens: tokens.slice(i * share, (i + 1) * share),
          localAddress: address(i),
          concurrency,
        },
        'opened',
      ),
    ),
  );
  const seconds = (Date.now() - started) / 1000;
  const opened = results.reduce((s, r) => s + r.opened, 0);
  const failed = results.reduce((s, r) => s + r.failed, 0);
  await sleep(settleSeconds * 1000);
  const rssAfterNoGc = pid ? rssOf(pid) : null;
  if (inspectPort) await collectGarbage(inspectPort);
  const rssAfter = pid ? rssOf(pid) : null;
  const heapAfter = await metricOf(url, 'jim_nodejs_heap_size_used_bytes');
  const serverConnections = await metricOf(url, 'jim_ws_connections');

  const kb = (bytes: number | null) => (bytes === null ? null : Math.round((bytes / 1024) * 100) / 100);
  const mb = (bytes: number | null) => (bytes === null ? null : Math.round((bytes / 1024 / 1024) * 10) / 10);
  const report = {
    scenario: 'connections',
    date: new Date().toISOString(),
    node: process.version,
    requested: n,
    opened,
    failed,
    users,
    connectionsPerUser: perUser,
    loadProcesses: loadProcs,
    serverConnections,
    seconds: Math.round(seconds * 100) / 100,
    connectionsPerSecond: Math.round(opened / seconds),
    rssBeforeMB: mb(rssBefore),
    rssAfterMB: mb(rssAfter),
    fullGcBeforeEachReading: inspectPort !== null,
    rssAfterWithoutGcMB: mb(rssAfterNoGc),
    rssPerConnectionKB:
      rssBefore !== null && rssAfter !== null && opened ? kb((rssAfter - rssBefore) / opened) : null,
    rssPerConnectionWithoutGcKB:
      rssBefore !== null && rssAfterNoGc !== null && opened ? kb((rssAfterNoGc - rssBefore) / opened) : null,
    heapUsedPerConnectionKB:
      heapBefore !== null && heapAfter !== null && opened ? kb((heapAfter - heapBefore) / opened) : null,
  };
  console.table([
    {
      connections: opened,
      failed,
      'conn/s': report.connectionsPerSecond,
      'RSS before (MB)': report.rssBeforeMB,
      'RSS after (MB)': report.rssAfterMB,
      'RSS/conn (KB)': report.rssPerConnectionKB,
      'RSS/conn, no GC (KB)': report.rssPerConnectionWithoutGcKB,
      'heap/conn (KB)': report.heapUsedPerConnectionKB,
    },
  ]);
  console.log(JSON.stringify(report, null, 2));
  const outDir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, `connections-${Date.now()}.json`), JSON.stringify(report, null, 2));

  await Promise.all(procs.map((p) => request(p, { cmd: 'close' }, 'closed')));
  for (const p of procs) p.disconnect();
  if (server) {
    await stopServer(server);
    const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379/0');
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    const conn = await mysql.createConnection({ host: '127.0.0.1', user: 'root' });
    await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await conn.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
