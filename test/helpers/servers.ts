import fs from 'node:fs';
import path from 'node:path';

/** A server a suite needs: the shared MariaDB and Redis of `MYSQL_URL` and `REDIS_URL`. */
export type Server = 'mysql' | 'redis';

/**
 * Why each server is missing, as test/global-setup.js found it (null when it answered). Without a probe (the
 * file run outside jest's global setup) every server counts as present, so the suite fails loudly if not.
 */
function probed(): Record<Server, string | null> {
  const raw = process.env.JIM_TEST_SERVERS;
  if (!raw) return { mysql: null, redis: null };
  return JSON.parse(raw) as Record<Server, string | null>;
}

/** The reasons the servers in `needs` cannot be used, empty when all answered. */
export function missing(needs: Server[]): string[] {
  const found = probed();
  return needs.map((s) => found[s]).filter((why): why is string => why !== null);
}

function currentTestFile(): string {
  const testPath = expect.getState().testPath ?? 'a test file';
  return path.relative(path.resolve(__dirname, '../..'), testPath);
}

/**
 * `describe` for a suite that needs `needs`: the real one when they answered, else `describe.skip`, with one
 * line printed at the end of the run saying which suite was skipped and why. With `JIM_TEST_REQUIRE_ALL=1`
 * (as `.ci/run` sets) a missing server fails the suite instead.
 */
export function describeWith(...needs: Server[]): jest.Describe {
  const reasons = missing(needs);
  if (!reasons.length) return describe;
  const line = `skipped ${currentTestFile()}: ${reasons.join('; ')}`;
  if (process.env.JIM_TEST_REQUIRE_ALL === '1') {
    throw new Error(`JIM_TEST_REQUIRE_ALL=1 forbids skipping; ${line}`);
  }
  const log = process.env.JIM_TEST_SKIP_LOG;
  if (log) fs.appendFileSync(log, `${line}\n`);
  return describe.skip;
}

/**
 * `it` for a test that reads MariaDB or Redis directly because no port can answer what it checks: the real
 * one when the suite runs on the servers in `needs` (and JIM_TEST_EMBEDDED=1 did not move it to the embedded
 * mode), else `it.skip`.
 */
export function itDistributed(needs: Server[]): jest.It {
  const onServers = needs.includes('mysql') && needs.includes('redis');
  return onServers && process.env.JIM_TEST_EMBEDDED !== '1' ? it : it.skip;
}
