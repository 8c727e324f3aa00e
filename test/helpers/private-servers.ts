// Private Redis and MariaDB servers for fault injection: each on a free port and a data directory of its own,
// started, stopped, killed, frozen and restarted by pid. Shared servers are never touched.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The first of `names` found on PATH (or in /usr/sbin, where mariadbd lives), or null. */
function findBinary(names: string[]): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin'];
  for (const name of names) {
    if (name.includes('/')) {
      if (fs.existsSync(name)) return name;
      continue;
    }
    for (const dir of dirs) {
      const file = path.join(dir, name);
      if (dir && fs.existsSync(file)) return file;
    }
  }
  return null;
}

const REDIS_BIN = findBinary([process.env.FAULT_REDIS_SERVER ?? 'redis-server']);
const MARIADB_BIN = findBinary(
  process.env.FAULT_MARIADBD ? [process.env.FAULT_MARIADBD] : ['mariadbd', 'mysqld'],
);

/** Whether redis-server and a mariadbd that starts on an empty data directory are on this machine. */
export function privateServersAvailable(): boolean {
  if (!REDIS_BIN || !MARIADB_BIN) return false;
  const version = spawnSync(MARIADB_BIN, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /mariadb/i.test(version);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `ready` every 100 ms until it resolves true; throws after `timeoutMs`. */
async function waitUntil(what: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** One server process on a fixed port and data directory, which can be stopped and started again. */
abstract class PrivateServer {
  protected child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** Milliseconds the last start took until the server answered. */
  lastStartMs = 0;

  protected constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  /** The pid of the running server (null while stopped). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  protected abstract command(): { bin: string; args: string[] };
  protected abstract answers(): Promise<boolean>;
  protected abstract readonly name: string;

  /** Starts the server on its port and data directory and waits until it answers. */
  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already running`);
    const started = Date.now();
    const { bin, args } = this.command();
    const log = fs.openSync(path.join(this.dir, 'server.log'), 'a');
    const child = spawn(bin, args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      if (this.child === child) this.child = null;
    });
    await waitUntil(
      this.name,
      async () => {
        if (child.exitCode !== null) throw new Error(`${this.name} exited; see ${this.dir}/server.log`);
        return this.answers();
      },
      60_000,
    );
    this.lastStartMs = Date.now() - started;
  }

  /** SIGTERM (a clean shutdown) and waits for the exit. */
  async stop(): Promise<void> {
    await this.signalAndWait('SIGTERM');
  }

  /** SIGKILL (a crash) and waits for the exit. */
  async kill(): Promise<void> {
    await this.signalAndWait('SIGKILL');
  }

  /** SIGSTOP: the process keeps its connections but answers nothing until `thaw`. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT after `freeze`. */
  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /** Stops (or kills) the server and starts it again on the same port and data. */
  async restart(how: 'stop' | 'kill' = 'stop'): Promise<void> {
    if (how === 'kill') await this.kill();
    else await this.stop();
    await this.start();
  }

  /** Kills the server if it runs and removes its data directory. */
  async destroy(): Promise<void> {
    if (this.child) {
      this.child.kill('SIGCONT');
      await this.kill();
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async signalAndWait(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGCONT');
    child.kill(signal);
    await this.exited;
    this.child = null;
  }
}

/** A private redis-server; with `persistent`, every write is in an append-only file that survives a kill. */
export class PrivateRedis extends PrivateServer {
  protected readonly name = 'redis-server';

  private constructor(
    port: number,
    dir: string,
    private readonly persistent: boolean,
  ) {
    super(port, dir);
  }

  /** Starts one on a free port in a new temporary directory. */
  static async start(options: { persistent?: boolean } = {}): Promise<PrivateRedis> {
    if (!REDIS_BIN) throw new Error('redis-server is not installed');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-redis-'));
    const server = new PrivateRedis(await freePort(), dir, options.persistent ?? false);
    await server.start();
    return server;
  }

  /** `redis://127.0.0.1:<port>/0` */
  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  protected command(): { bin: string; args: string[] } {
    const persistence = this.persistent
      ? ['--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no'];
    return {
      bin: REDIS_BIN!,
      args: [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        ...persistence,
        '--dir',
        this.dir,
      ],
    };
  }

  protected answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect(this.port, '127.0.0.1');
      let text = '';
      socket.setTimeout(1000, () => socket.destroy());
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (d) => {
        text += d.toString();
        if (text.includes('\r\n')) socket.end();
      });
      socket.on('close', () => resolve(text.startsWith('+PONG')));
      socket.on('error', () => resolve(false));
    });
  }
}

/**
 * A private MariaDB on an empty data directory (no system tables: grants are skipped, root has no
 * password), small buffers, listening on 127.0.0.1 only.
 */
export class PrivateMariadb extends PrivateServer {
  protected readonly name = 'mariadbd';

  /** Starts one on a free port in a new temporary directory. */
  static async start(): Promise<PrivateMariadb> {
    if (!MARIADB_BIN) throw new Error('mariadbd is not installed');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-mariadb-'));
    fs.mkdirSync(path.join(dir, 'data'));
    const server = new PrivateMariadb(await freePort(), dir);
    await server.start();
    return server;
  }

  /** `mysql://root@127.0.0.1:<port>/<database>` */
  url(database: string): string {
    return `mysql://root@127.0.0.1:${this.port}/${database}`;
  }

  protected command(): { bin: string; args: string[] } {
    const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    return {
      bin: MARIADB_BIN!,
      args: [
        '--no-defaults',
        `--datadir=${path.join(this.dir, 'data')}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--socket=${path.join(this.dir, 'mysqld.sock')}`,
        `--pid-file=${path.join(this.dir, 'mysqld.pid')}`,
        '--skip-grant-tables',
        '--skip-name-resolve',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=32M',
        '--innodb-log-file-size=16M',
        '--max-connections=500',
        ...(asRoot ? ['--user=root'] : []),
      ],
    };
  }

  protected async answers(): Promise<boolean> {
    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port: this.port,
      user: 'root',
      connectTimeout: 1000,
    });
    try {
      await conn.query('SELECT 1');
      return true;
    } finally {
      await conn.end().catch(() => undefined);
    }
  }
}
