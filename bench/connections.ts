// Opens N authenticated idle WebSocket connections against one instance and reports the server's RSS per
// connection (summed over its process tree when it runs several workers) and the connection rate.
// Usage: npm run bench -- connections --n 19000 [--workers 1] [--per-user 10]
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
const workers = Number(arg('workers', '1'));
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

/** The process and its descendants (a cluster primary and its workers), via /proc children lists. */
function treeOf(pid: number): number[] {
  const out = [pid];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const task of tasks) {
    let children: string;
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.split(/\s+/).filter(Boolean)) out.push(...treeOf(Number(child)));
  }
  return out;
}

/** Summed VmRSS of a process tree. */
function treeRss(pid: number): number {
  return treeOf(pid).reduce((sum, p) => sum + rssOf(p), 0);
}

/** Open file descriptors per process of a tree (sockets dominate, so deltas count connections held). */
function fdsOf(pid: number): Map<number, number> {
  return new Map(treeOf(pid).map((p) => [p, fs.readdirSync(`/proc/${p}/fd`).length]));
}

/**
 * Inspector ports of a tree: the primary's own, and each cluster worker's `--inspect-port=` (node:cluster
 * gives every worker the primary's debug port plus an offset when the primary runs with `--inspect`).
 */
function inspectPortsOf(pid: number, primaryPort: number): number[] {
  const ports = [primaryPort];
  for (const p of treeOf(pid).slice(1)) {
    const cmdline = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
    const flag = cmdline.find((a) => a.startsWith('--inspect-port='));
    if (flag) ports.push(Number(flag.split('=')[1]));
  }
  return ports;
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
    // Both URLs: the distributed mode (neither would start the embedded one).
    REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379/0',
    REDIS_PREFIX: prefix,
    CAPTCHA_ENABLED: 'false',
    RATE_LIMIT_REGISTER_PER_MINUTE: '1000000',
    WS_MAX_CONNECTIONS_PER_USER: String(Math.max(10, perUser)),
    LOG_LEVEL: 'warn',
    SERVER_WORKERS: String(workers),
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

  // With several workers, every process in the tree gets a full GC through its own inspector port; the
  // /metrics figures come from whichever worker answers, so the heap figure is only reported for one worker.
  const collectAll = async (): Promise<boolean> => {
    if (!inspectPort || !pid) return false;
    const ports = inspectPortsOf(pid, inspectPort);
    if (ports.length !== treeOf(pid).length) return false;
    await Promise.all(ports.map((p) => collectGarbage(p)));
    return true;
  };
  const gcBefore = await collectAll();
  const rssBefore = pid ? treeRss(pid) : null;
  const fdsBefore = pid ? fdsOf(pid) : null;
  const heapBefore = workers === 1 ? await metricOf(url, 'jim_nodejs_heap_size_used_bytes') : null;
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
  const rssAfterNoGc = pid ? treeRss(pid) : null;
  const fdsAfter = pid ? fdsOf(pid) : null;
  const gcAfter = await collectAll();
  const gc = gcBefore && gcAfter;
  const rssAfter = pid ? treeRss(pid) : null;
  const heapAfter = workers === 1 ? await metricOf(url, 'jim_nodejs_heap_size_used_bytes') : null;
  const serverConnections = workers === 1 ? await metricOf(url, 'jim_ws_connections') : null;
  const processes =
    pid && fdsBefore && fdsAfter
      ? [...fdsAfter].map(([p, fds]) => ({
          pid: p,
          role: p === pid ? (workers > 1 ? 'primary' : 'worker') : 'worker',
          rssMB: Math.round((rssOf(p) / 1024 / 1024) * 10) / 10,
          openFilesAdded: fds - (fdsBefore.get(p) ?? 0),
        }))
      : [];

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
    serverWorkers: workers,
    serverProcesses: processes,
    loadProcesses: loadProcs,
    serverConnections,
    seconds: Math.round(seconds * 100) / 100,
    connectionsPerSecond: Math.round(opened / seconds),
    rssBeforeMB: mb(rssBefore),
    rssAfterMB: mb(rssAfter),
    fullGcBeforeEachReading: gc,
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
  if (processes.length > 1) console.table(processes);
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
