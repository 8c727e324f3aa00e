import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { dropDatabase, isolation } from '../helpers/app';
import { validatedRequest } from '../helpers/openapi';
import { freePort } from '../helpers/private-servers';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

// `src/main.ts` as `npm start` runs it (TypeScript loaded through swc instead of the built dist/): the
// primary with its workers, the signals, the exit codes and the boot-time configuration check.
const ROOT = path.resolve(__dirname, '../..');
const REGISTER = path.join(ROOT, 'scripts/ts-register.js');
const MAIN = path.join(ROOT, 'src/main.ts');
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';

interface Started {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startMain(env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['-r', REGISTER, MAIN], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', CAPTCHA_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ unparsed: line });
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, lines, stderr: () => err, exited };
}

/** How the process exited, or 'still running' when it has not within `ms`. */
async function exitWithin(
  s: Started,
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), ms)));
  try {
    return await Promise.race([s.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

needsServers('the server process (src/main.ts)', () => {
  const iso = isolation();
  const running: Started[] = [];

  afterAll(async () => {
    for (const s of running) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await dropDatabase(iso.mysqlUrl);
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${iso.prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('runs server.workers instances on one port and stops them all on SIGTERM with exit code 0', async () => {
    const port = await freePort();
    const s = startMain({
      PORT: String(port),
      HOST: '127.0.0.1',
      SERVER_WORKERS: '2',
      MYSQL_URL: iso.mysqlUrl,
      REDIS_URL,
      REDIS_PREFIX: iso.prefix,
    });
    running.push(s);
    const listening = () => s.lines.filter((l) => l.msg === 'instance listening');
    await until(() => listening().length === 2, 60_000, 'two workers listening');
    const pids = new Set(listening().map((l) => l.pid));
    expect(pids.size).toBe(2);
    expect(pids.has(s.child.pid)).toBe(false);
    expect(s.lines.find((l) => l.msg === 'starting workers')).toMatchObject({ role: 'primary', workers: 2 });

    // Both workers serve the same service: an account made through the port logs in through it again.
    const base = `http://127.0.0.1:${port}`;
    const reg = await validatedRequest(base)
      .post('/api/v1/auth/register')
      .send({ username: 'mainproc', password: 'Passw0rd!x' });
    expect(reg.status).toBe(201);
    for (let i = 0; i < 4; i++) {
      const me = await validatedRequest(base)
        .get('/api/v1/users/me')
        .set('Authorization', `Bearer ${reg.body.token}`);
      expect(me.status).toBe(200);
    }

    s.child.kill('SIGTERM');
    const { code, signal } = await s.exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    const stopped = s.lines.filter((l) => l.msg === 'stopped').map((l) => l.pid);
    expect(new Set(stopped)).toEqual(pids);
    expect(s.lines.some((l) => l.level === 'error' || l.level === 'fatal')).toBe(false);
    await expect(validatedRequest(base).get('/healthz')).rejects.toThrow();
  }, 90_000);

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'cancels a pending restart on %s while every worker is down, and exits 0',
    async (sig) => {
      const port = await freePort();
      const s = startMain({
        PORT: String(port),
        HOST: '127.0.0.1',
        SERVER_WORKERS: '2',
        SERVER_RESTART_DELAY_MS: '4000',
        MYSQL_URL: iso.mysqlUrl,
        REDIS_URL,
        REDIS_PREFIX: iso.prefix,
      });
      running.push(s);
      const listening = () => s.lines.filter((l) => l.msg === 'instance listening');
      await until(() => listening().length === 2, 60_000, 'two workers listening');
      for (const l of listening()) process.kill(l.pid as number, 'SIGKILL');
      const died = () => s.lines.filter((l) => l.msg === 'worker exited; starting another');
      await until(() => died().length === 2, 10_000, 'both workers reported dead');

      s.child.kill(sig);
      const outcome = await exitWithin(s, 15_000);
      expect(outcome).toEqual({ code: 0, signal: null });
      // No worker was started after the stop, and nothing serves the port any more.
      await new Promise((r) => setTimeout(r, 500));
      expect(listening()).toHaveLength(2);
      await expect(validatedRequest(`http://127.0.0.1:${port}`).get('/healthz')).rejects.toThrow();
    },
    90_000,
  );

  it('exits 1 with one line saying why when workers keep failing to start', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const s = startMain({
        PORT: String(port),
        HOST: '127.0.0.1',
        SERVER_WORKERS: '2',
        SERVER_RESTART_DELAY_MS: '100',
        SERVER_MAX_START_FAILURES: '3',
        MYSQL_URL: iso.mysqlUrl,
        REDIS_URL,
        REDIS_PREFIX: iso.prefix,
      });
      running.push(s);
      const outcome = await exitWithin(s, 100_000);
      expect(outcome).toEqual({ code: 1, signal: null });
      const workerFailures = s.lines.filter((l) => l.msg === 'failed to start' && l.role === 'worker');
      expect(workerFailures.length).toBeGreaterThanOrEqual(3);
      const fromPrimary = s.lines.filter((l) => l.role === 'primary' && l.level === 'fatal');
      expect(fromPrimary).toHaveLength(1);
      expect(fromPrimary[0].msg).toMatch(/failed to start 3 times in a row .*EADDRINUSE.*; exiting$/);
      expect(s.lines.some((l) => l.msg === 'instance listening')).toBe(false);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  }, 120_000);

  it.each(['1', '2'])(
    'ends at once with exit code 1 on a second SIGTERM while a stop waits for a request (SERVER_WORKERS=%s)',
    async (workers) => {
      const port = await freePort();
      const s = startMain({
        PORT: String(port),
        HOST: '127.0.0.1',
        SERVER_WORKERS: workers,
        SHUTDOWN_TIMEOUT_MS: '120000',
        MYSQL_URL: iso.mysqlUrl,
        REDIS_URL,
        REDIS_PREFIX: iso.prefix,
      });
      running.push(s);
      const listening = () => s.lines.filter((l) => l.msg === 'instance listening');
      await until(() => listening().length === Number(workers), 60_000, 'workers listening');
      const workerPids = listening().map((l) => l.pid as number);

      // A request whose body never finishes keeps the graceful stop waiting (up to SHUTDOWN_TIMEOUT_MS).
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(
        'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user',
      );
      await new Promise((r) => setTimeout(r, 1500));
      try {
        s.child.kill('SIGTERM');
        await until(() => s.lines.some((l) => l.msg === 'shutting down'), 20_000, 'a stop to begin');
        await new Promise((r) => setTimeout(r, 500));
        expect(s.child.exitCode).toBeNull();

        s.child.kill('SIGTERM');
        const outcome = await exitWithin(s, 15_000);
        expect(outcome).toEqual({ code: 1, signal: null });
        expect(s.lines.some((l) => /^second signal/.test(String(l.msg)))).toBe(true);
        // Killed workers may linger a moment as zombies until their new parent reaps them.
        const gone = (pid: number) => {
          try {
            return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z';
          } catch {
            return true;
          }
        };
        await until(() => workerPids.every(gone), 10_000, 'the workers to end');
      } finally {
        socket.destroy();
      }
    },
    120_000,
  );

  it('stops with exit code 1 and one stderr line naming the key when a setting is bad', async () => {
    const s = startMain({ PORT: '80abc', MYSQL_URL: iso.mysqlUrl, REDIS_PREFIX: iso.prefix });
    running.push(s);
    const { code } = await s.exited;
    expect(code).toBe(1);
    const err = s.stderr().trim().split('\n');
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/server\.port \(PORT\)/);
    expect(s.lines).toHaveLength(0);
  });
});
