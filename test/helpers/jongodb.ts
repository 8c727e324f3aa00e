import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import mongoose from 'mongoose';
import { freePort } from './private-servers';

const BINARY = path.resolve(
  __dirname,
  '../../node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb',
);

/** A running jongodb test server. */
export interface Jongodb {
  uri: string;
  stop: () => Promise<void>;
}

/**
 * Starts a jongodb server on a free port (one per test file) and resolves once it prints its URI.
 * `database` names the database in the returned URI. With TEST_MONGODB_URI set (a real MongoDB, as in
 * the GitHub workflow), that server is used instead, with a database of its own dropped by stop().
 */
export async function startJongodb(database = 'jim_test'): Promise<Jongodb> {
  const external = process.env.TEST_MONGODB_URI;
  if (external) return useExternal(external, `${database}_${randomBytes(4).toString('hex')}`);
  const port = await freePort();
  const child: ChildProcess = spawn(BINARY, ['--host=127.0.0.1', `--port=${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`jongodb did not start: ${err || out}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /JONGODB_URI=(\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`jongodb exited with ${code}: ${err || out}`));
    });
  });
  const u = new URL(base);
  u.pathname = `/${database}`;
  return {
    uri: u.toString(),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function useExternal(base: string, database: string): Promise<Jongodb> {
  const u = new URL(base);
  u.pathname = `/${database}`;
  const uri = u.toString();
  return {
    uri,
    stop: async () => {
      const conn = await mongoose.createConnection(uri).asPromise();
      await conn.dropDatabase();
      await conn.close();
    },
  };
}
