import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import request from 'supertest';
import { loadConfig, type Config, type DeepPartial } from '../../src/config';
import { createLogger, type Logger } from '../../src/shared/logger';
import { startInstance, type Instance } from '../../src/server';
import { parseMysqlUrl } from '../../src/infra/mysql';
import { validatedRequest } from './openapi';

const BASE_MYSQL = process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/jim';
const BASE_REDIS = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';

/** A fresh database name and Redis prefix for one test file. */
export function isolation(): { mysqlUrl: string; prefix: string; database: string; dataDir: string } {
  const tag = randomBytes(5).toString('hex');
  const u = new URL(BASE_MYSQL);
  u.pathname = `/jim_t_${tag}`;
  return {
    mysqlUrl: u.toString(),
    prefix: `jimt:${tag}:`,
    database: `jim_t_${tag}`,
    dataDir: path.join(os.tmpdir(), `jim_t_${tag}`),
  };
}

/** Overrides that start an instance in the embedded mode (SQLite under its own DATA_DIR, no server). */
export const EMBEDDED: DeepPartial<Config> = { mysql: { url: '' }, redis: { url: '' } };

/** Per-user write limits high enough that no suite is throttled; rate-limit tests pass their own. */
const LIFTED_WRITE_LIMITS = {
  messagesPerSecond: 1_000_000,
  friendRequestsPerMinute: 1_000_000,
  joinRequestsPerMinute: 1_000_000,
  groupCreationsPerMinute: 1_000_000,
  profileChangesPerMinute: 1_000_000,
};

/**
 * Test config: port 0, silent logs, captcha off unless asked, per-user write limits lifted unless asked, its
 * own database and prefix.
 */
export function testConfig(overrides: DeepPartial<Config> = {}, iso = isolation()): Config {
  return loadConfig({
    env: { NODE_ENV: 'test' },
    overrides: deepMerge(
      {
        dataDir: iso.dataDir,
        server: { port: 0, host: '127.0.0.1', workers: 1, shutdownTimeoutMs: 2000 },
        mysql: { url: iso.mysqlUrl, poolSize: 5 },
        redis: { url: BASE_REDIS, prefix: iso.prefix },
        captcha: { enabled: false },
        rateLimit: LIFTED_WRITE_LIMITS,
        // JIM_TEST_EMBEDDED=1 runs the suites that start instances in the embedded mode instead.
        ...(process.env.JIM_TEST_EMBEDDED === '1' ? EMBEDDED : {}),
        log: { level: process.env.TEST_LOG_LEVEL || 'silent' },
      },
      overrides as Record<string, unknown>,
    ) as DeepPartial<Config>,
  });
}

export interface TestApp {
  instance: Instance;
  /** Supertest client; every response is checked against the OpenAPI document (see ./openapi.ts). */
  http: ReturnType<typeof request>;
  close: () => Promise<void>;
}

/**
 * Boots a real instance on MariaDB and Redis with isolated data; close() stops it and drops the data.
 * With `shareWith`, the instance uses that app's database and Redis prefix (a second instance of the same
 * deployment) and its close() only stops it, leaving the data to the first app.
 */
export async function startTestApp(
  overrides: DeepPartial<Config> = {},
  options: { shareWith?: TestApp; logger?: Logger } = {},
): Promise<TestApp> {
  const shared = options.shareWith?.instance.config;
  const config = shared
    ? testConfig(overrides, {
        mysqlUrl: shared.mysql.url,
        prefix: shared.redis.prefix,
        database: parseMysqlUrl(shared.mysql.url).database,
        dataDir: shared.dataDir,
      })
    : testConfig(overrides);
  const instance = await startInstance(config, options.logger ?? createLogger({ level: config.log.level }));
  return {
    instance,
    http: validatedRequest(instance.url),
    close: async () => {
      if (shared) {
        await instance.stop();
        return;
      }
      if (config.mode === 'distributed') {
        const prefix = config.redis.prefix;
        const redis = instance.redis.command;
        const keys = await scanKeys(redis, `${prefix}*`);
        if (keys.length) await redis.del(...keys);
      }
      await instance.stop();
      if (config.mode === 'distributed') await dropDatabase(config.mysql.url);
      await fs.promises.rm(config.dataDir, { recursive: true, force: true });
    },
  };
}

async function scanKeys(redis: Instance['redis']['command'], pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/** The secret an instance signs tokens with: the configured one, else the deployment's stored one. */
export async function jwtSecretOf(instance: Instance): Promise<string> {
  if (instance.config.auth.jwtSecret) return instance.config.auth.jwtSecret;
  // The instance stored its secret when it started; the first stored value wins, so this one is never kept.
  return instance.engines.secrets.sharedSecret('jwt', () => randomBytes(48).toString('base64url'));
}

/** Drops a test database. */
export async function dropDatabase(url: string): Promise<void> {
  const { options, database } = parseMysqlUrl(url);
  const conn = await mysql.createConnection(options);
  await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await conn.end();
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object'
        ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

let userCounter = 0;

/** Registers a user through the API (captcha off) and returns its session. */
export async function registerUser(
  app: Pick<TestApp, 'http'>,
  fields: { username?: string; password?: string; nickname?: string } = {},
): Promise<{ id: string; token: string; username: string; password: string }> {
  const username = fields.username ?? `u${process.pid % 1000}_${Date.now() % 100000}_${++userCounter}`;
  const password = fields.password ?? 'Passw0rd!';
  const res = await app.http
    .post('/api/v1/auth/register')
    .send({ username, password, ...(fields.nickname ? { nickname: fields.nickname } : {}) });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, token: res.body.token, username, password };
}

/** `POST /api/v1/auth/login` with `body` as is (from `ip` through X-Forwarded-For when given): the raw answer. */
export function loginRequest(app: Pick<TestApp, 'http'>, body: Record<string, string>, ip?: string) {
  const req = app.http.post('/api/v1/auth/login');
  return (ip ? req.set('X-Forwarded-For', ip) : req).send(body);
}

/** Signs in through the API: another session of the user, with a token of its own. */
export async function login(
  app: Pick<TestApp, 'http'>,
  username: string,
  password = 'Passw0rd!',
): Promise<string> {
  const res = await loginRequest(app, { username, password });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

/** Makes two users friends through the API: `a` asks (with `message` as the greeting), `b` accepts. */
export async function befriend(
  app: Pick<TestApp, 'http'>,
  a: { id: string; token: string },
  b: { id: string; token: string },
  message?: string,
): Promise<void> {
  const req = await app.http
    .post('/api/v1/friend-requests')
    .set('Authorization', `Bearer ${a.token}`)
    .send({ userId: b.id, ...(message === undefined ? {} : { message }) });
  if (req.status !== 201) throw new Error(`request failed: ${req.status} ${JSON.stringify(req.body)}`);
  const acc = await app.http
    .post(`/api/v1/friend-requests/${req.body.id}/accept`)
    .set('Authorization', `Bearer ${b.token}`)
    .send({});
  if (acc.status !== 200) throw new Error(`accept failed: ${acc.status} ${JSON.stringify(acc.body)}`);
}
