// A private ejabberd for the side-by-side benchmark: its own config, spool, logs and port in a temporary
// directory, its own MariaDB database and user, mod_mam archiving every message in SQL, stream management on,
// no shaper. Needs Debian's `ejabberd` and `erlang-p1-mysql` packages (apt-get install ejabberd
// erlang-p1-mysql); the Debian service is not used. Everything it makes is removed by stop().
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './server-process';

const EJABBERDCTL = '/usr/sbin/ejabberdctl';
const SCHEMA = '/usr/share/ejabberd/sql/mysql.sql';

/** A running private ejabberd. */
export interface Ejabberd {
  domain: string;
  /** ws://127.0.0.1:<port>/ws */
  wsUrl: string;
  /** The Erlang VM's pid (for CPU accounting). */
  pid: number;
  database: string;
  /** Creates users `<prefix>0..n-1` with password `pw`, straight in its SQL users table. */
  createUsers(prefix: string, count: number): Promise<Array<{ user: string; password: string }>>;
  /** A query on its database (to fill or inspect the archive). */
  query(sql: string, params?: unknown[]): Promise<unknown>;
  stop(): Promise<void>;
}

function adminOptions(): mysql.ConnectionOptions {
  const u = new URL(process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/jim');
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password || ''),
    multipleStatements: true,
  };
}

function ctl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(EJABBERDCTL, args, { timeout: 120_000 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`ejabberdctl ${args.join(' ')}: ${stderr || stdout || err.message}`))
        : resolve(stdout),
    );
  });
}

/** The pid of the beam.smp process running Erlang node `node`, or 0. */
function beamPid(node: string): number {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmdline.includes('beam') && cmdline.includes(`\0${node}\0`)) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  return 0;
}

/** Starts a private ejabberd and waits until it accepts WebSocket clients. */
export async function startEjabberd(options: { poolSize?: number } = {}): Promise<Ejabberd> {
  if (!fs.existsSync(EJABBERDCTL)) {
    throw new Error('ejabberd is not installed: apt-get install -y ejabberd erlang-p1-mysql');
  }
  const tag = randomBytes(4).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-ejabberd-'));
  const node = `jimbench_${tag}@localhost`;
  const database = `ejb_bench_${tag}`;
  const dbUser = `ejb_${tag}`;
  const dbPassword = randomBytes(12).toString('hex');
  const port = await freePort();
  const domain = 'bench.local';

  const admin = await mysql.createConnection(adminOptions());
  await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  // p1_mysql cannot log in without a password, so the bench makes its own user.
  await admin.query(`CREATE USER '${dbUser}'@'127.0.0.1' IDENTIFIED BY '${dbPassword}'`);
  await admin.query(`GRANT ALL ON \`${database}\`.* TO '${dbUser}'@'127.0.0.1'`);
  await admin.query(`USE \`${database}\`; ${fs.readFileSync(SCHEMA, 'utf8')}`);

  for (const sub of ['conf', 'spool', 'logs']) fs.mkdirSync(path.join(dir, sub));
  fs.copyFileSync('/etc/ejabberd/inetrc', path.join(dir, 'conf', 'inetrc'));
  fs.writeFileSync(
    path.join(dir, 'conf', 'ejabberdctl.cfg'),
    `ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"\nEJABBERD_PID_PATH=${dir}/ejabberd.pid\n`,
  );
  fs.writeFileSync(
    path.join(dir, 'conf', 'ejabberd.yml'),
    [
      `hosts: ["${domain}"]`,
      'loglevel: warning',
      'sql_type: mysql',
      'sql_server: "127.0.0.1"',
      `sql_port: ${adminOptions().port}`,
      `sql_database: "${database}"`,
      `sql_username: "${dbUser}"`,
      `sql_password: "${dbPassword}"`,
      `sql_pool_size: ${options.poolSize ?? 10}`,
      'default_db: sql',
      'auth_method: sql',
      'auth_password_format: plain',
      'listen:',
      `  - port: ${port}`,
      '    ip: "127.0.0.1"',
      '    module: ejabberd_http',
      '    request_handlers:',
      '      /ws: ejabberd_http_ws',
      'acl:',
      '  local:',
      '    user_regexp: ""',
      'access_rules:',
      '  c2s:',
      '    allow: all',
      'shaper_rules: {}',
      'modules:',
      '  mod_mam:',
      '    db_type: sql',
      '    default: always',
      '  mod_stream_mgmt:',
      '    resend_on_timeout: if_offline',
      '  mod_roster:',
      '    db_type: sql',
      '  mod_offline:',
      '    db_type: sql',
      '',
    ].join('\n'),
  );
  execFileSync('chown', ['-R', 'ejabberd:', dir]);
  const base = [
    '--config-dir',
    path.join(dir, 'conf'),
    '--spool',
    path.join(dir, 'spool'),
    '--logs',
    path.join(dir, 'logs'),
    '--node',
    node,
  ];
  await ctl([...base, 'start']);
  await ctl([...base, 'started']);
  const pid = beamPid(node);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await ctl([...base, 'stop']).catch(() => undefined);
    await ctl([...base, 'stopped']).catch(() => undefined);
    if (pid && beamPid(node) === pid) process.kill(pid, 'SIGKILL');
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => undefined);
    await admin.query(`DROP USER IF EXISTS '${dbUser}'@'127.0.0.1'`).catch(() => undefined);
    await admin.end().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  return {
    domain,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    pid,
    database,
    async createUsers(prefix, count) {
      const users = Array.from({ length: count }, (_, i) => ({ user: `${prefix}${i}`, password: `pw${i}` }));
      for (let i = 0; i < users.length; i += 1000) {
        const chunk = users.slice(i, i + 1000);
        await admin.query(`INSERT INTO \`${database}\`.users (username, password) VALUES ?`, [
          chunk.map((u) => [u.user, u.password]),
        ]);
      }
      return users;
    },
    async query(sql, params) {
      const [rows] = await admin.query(sql, params);
      return rows;
    },
    stop,
  };
}
