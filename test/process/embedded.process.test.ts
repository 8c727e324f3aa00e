import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const SCENARIO = path.join(__dirname, 'embedded-scenario.js');

/** Whether this process may make a network namespace (root with `unshare`), where nothing listens. */
function canIsolateNetwork(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('unshare', ['-n', 'true']).status === 0;
}

const isolated = canIsolateNetwork();
if (!isolated) {
  const line =
    'skipped test/process/embedded.process.test.ts: needs root and unshare -n (a network namespace)';
  if (process.env.JIM_TEST_REQUIRE_ALL === '1') throw new Error(line);
  console.log(line);
}

(isolated ? describe : describe.skip)('embedded mode needs nothing but Node', () => {
  let dataDir: string;

  beforeAll(() => {
    // The built server, as `npm start` runs it.
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-if-needed.js')], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-embedded-'));
  }, 180_000);

  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('registers, befriends, chats with pushes and keeps it all across a restart, with no server to reach', () => {
    // A namespace with only a loopback interface: no MariaDB, no Redis, no other host can answer.
    const run = spawnSync(
      'unshare',
      ['-n', 'sh', '-c', `ip link set lo up && exec "${process.execPath}" "${SCENARIO}" "${dataDir}" 3999`],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, MYSQL_URL: '', REDIS_URL: '' },
      },
    );
    if (run.status !== 0) throw new Error(`scenario failed (${run.status}): ${run.stderr}\n${run.stdout}`);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
      readyz: { status: string; mode?: string };
      pushed: number;
      sentIds: string[];
      historyIds: string[];
      friendIds: string[];
      bobId: string;
      stopped: { code: number | null };
      stoppedAgain: { code: number | null };
    };
    expect(result.readyz.status).toBe('ok');
    expect(result.pushed).toBe(4);
    // The greeting of the accepted request is in the history too; every message sent is there once.
    for (const id of result.sentIds) expect(result.historyIds.filter((h) => h === id)).toHaveLength(1);
    expect(result.friendIds).toEqual([result.bobId]);
    expect(result.stopped.code).toBe(0);
    expect(result.stoppedAgain.code).toBe(0);
    // Everything it keeps is under DATA_DIR.
    expect(fs.readdirSync(dataDir).some((f) => f.endsWith('.db'))).toBe(true);
  }, 180_000);
});
