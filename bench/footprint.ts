// Footprint of the built server (dist/main.js, as `npm start` runs it): time from spawn until /readyz
// answers 200, and the resident memory of the idle process after it settled, in the embedded mode (fresh
// DATA_DIR each run) and in the distributed mode (database jim_bench, Redis prefix jimbench:).
// Usage: npm run bench -- footprint [--runs 5] [--idle 30] [--modes embedded,distributed]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, rssOf } from './lib/server-process';
import { arg, clearRedis, dropDatabase, log, machine, num, round, run, sleep } from './lib/setup';

const ROOT = path.resolve(__dirname, '..');

interface Sample {
  readyMs: number;
  idleRssMb: number;
}

async function once(mode: 'embedded' | 'distributed', idleSeconds: number): Promise<Sample> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-footprint-'));
  if (mode === 'distributed') {
    await dropDatabase('jim_bench');
    await clearRedis('jimbench:');
  }
  const env: Record<string, string | undefined> = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    SERVER_WORKERS: '1',
    MYSQL_URL: mode === 'distributed' ? 'mysql://root@127.0.0.1:3306/jim_bench' : '',
    REDIS_URL: mode === 'distributed' ? process.env.REDIS_URL || 'redis://127.0.0.1:6379/0' : '',
    REDIS_PREFIX: 'jimbench:',
  };
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    let readyMs = -1;
    while (readyMs < 0) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200)
          readyMs = performance.now() - started;
      } catch {
        // not listening yet
      }
      if (readyMs < 0) await sleep(5);
      if (performance.now() - started > 60_000) throw new Error('not ready within 60 s');
    }
    await sleep(idleSeconds * 1000);
    return { readyMs, idleRssMb: rssOf(child.pid!) / 1024 / 1024 };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (mode === 'distributed') await dropDatabase('jim_bench');
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

run(async () => {
  const runs = num('runs', 5);
  const idle = num('idle', 30);
  const modes = arg('modes', 'embedded,distributed').split(',') as Array<'embedded' | 'distributed'>;
  log('building dist/ if needed');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-if-needed.js')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  const rows: Record<string, unknown>[] = [];
  const samples: Record<string, Sample[]> = {};
  for (const mode of modes) {
    samples[mode] = [];
    for (let i = 0; i < runs; i++) {
      const s = await once(mode, idle);
      log(`${mode} run ${i + 1}: ready ${round(s.readyMs)} ms, idle RSS ${round(s.idleRssMb, 1)} MB`);
      samples[mode].push(s);
    }
    const ready = samples[mode].map((s) => s.readyMs);
    const rss = samples[mode].map((s) => s.idleRssMb);
    rows.push({
      mode,
      runs,
      'ready median ms': round(median(ready)),
      'ready max ms': round(Math.max(...ready)),
      'idle RSS median MB': round(median(rss), 1),
      'idle RSS max MB': round(Math.max(...rss), 1),
    });
  }
  console.table(rows);
  const full = {
    scenario: 'footprint',
    date: new Date().toISOString(),
    machine: machine(),
    argv: process.argv.slice(2),
    samples,
    rows,
  };
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `footprint-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(full, null, 2));
  log(`saved ${path.relative(ROOT, file)}`);
}, 900);
