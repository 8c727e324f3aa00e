import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Config } from '../../src/config';
import type { ServerEvent } from '../../src/gateway/gateway.types';
import { dropDatabase } from './app';

const ROOT = path.resolve(__dirname, '../..');
const REGISTER = path.join(ROOT, 'scripts/ts-register.js');
const ENTRY = path.join(__dirname, 'instance-process.ts');

/** A real server instance running in its own Node process. */
export interface ServerProcess {
  url: string;
  pid: number;
  instanceId: string;
  child: ChildProcess;
  /** Graceful stop (closes sockets with 1001, clears its registry entries); resolves when the process exited. */
  stop(): Promise<void>;
  /** SIGKILL: no cleanup at all, like a crash. */
  kill(): Promise<void>;
  /** Calls `gateway.deliver` inside the process. */
  deliver(userIds: string[], event: ServerEvent): Promise<void>;
}

let seq = 0;

function command(child: ChildProcess, body: Record<string, unknown>): Promise<void> {
  const id = ++seq;
  return new Promise((resolve, reject) => {
    const onMessage = (msg: unknown) => {
      const reply = msg as { seq?: number; error?: string };
      if (reply.seq !== id) return;
      child.off('message', onMessage);
      if (reply.error) reject(new Error(reply.error));
      else resolve();
    };
    child.on('message', onMessage);
    child.send({ ...body, seq: id });
  });
}

/** Starts `startInstance(config)` in a child process (TypeScript loaded through swc) and waits until it listens. */
export function spawnInstance(config: Config): Promise<ServerProcess> {
  const child = fork(ENTRY, [], {
    cwd: ROOT,
    execArgv: ['-r', REGISTER],
    env: { ...process.env, JIM_INSTANCE_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return new Promise<ServerProcess>((resolve, reject) => {
    // A hang guard: on a loaded machine compiling and migrating in the child can take long.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('instance process did not start in time'));
    }, 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`instance process exited during start (code ${code})`));
    });
    child.once('message', (msg) => {
      clearTimeout(timer);
      const info = msg as { url: string; pid: number; instanceId: string };
      resolve({
        ...info,
        child,
        stop: async () => {
          if (child.connected) child.send('stop');
          else child.kill('SIGTERM');
          await exited;
        },
        kill: async () => {
          child.kill('SIGKILL');
          await exited;
        },
        deliver: (userIds, event) => command(child, { deliver: { userIds, event } }),
      });
    });
  });
}

/** Removes the Redis keys under the config's prefix and drops its database. */
export async function cleanupIsolation(config: Config): Promise<void> {
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.redis.prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  await dropDatabase(config.mysql.url);
}
