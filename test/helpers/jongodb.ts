import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const BINARY = path.resolve(
  __dirname,
  '../../node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb',
);

/** A running jongodb test server. */
export interface Jongodb {
  uri: string;
  stop: () => Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a jongodb server on a free port (one per test file) and resolves once it prints its URI.
 * `database` names the database in the returned URI.
 */
export async function startJongodb(database = 'jim_test'): Promise<Jongodb> {
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
