// Probes MariaDB and Redis before any test runs and records which answer, so suites that need a missing
// server skip with one line saying why (test/helpers/servers.ts) instead of every test failing.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const mysql = require('mysql2/promise');
const { Redis } = require('ioredis');

async function probeMysql() {
  const url = new URL(process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/jim');
  try {
    const conn = await mysql.createConnection({
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username || 'root'),
      password: decodeURIComponent(url.password || ''),
      connectTimeout: 3000,
    });
    await conn.end();
    return null;
  } catch (err) {
    return `MariaDB/MySQL is not reachable at ${url.host} (${err.code || err.message})`;
  }
}

async function probeRedis() {
  const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379/0');
  const redis = new Redis(url.toString(), {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let cause = null;
  redis.on('error', (err) => (cause = err));
  try {
    await redis.connect();
    await redis.ping();
    await redis.quit();
    return null;
  } catch (err) {
    redis.disconnect();
    const why = cause || err;
    return `Redis is not reachable at ${url.host} (${why.code || why.message})`;
  }
}

module.exports = async () => {
  const [mysqlDown, redisDown] = await Promise.all([probeMysql(), probeRedis()]);
  // Workers inherit the environment, and with --runInBand the tests run in this very process.
  process.env.JIM_TEST_SERVERS = JSON.stringify({ mysql: mysqlDown, redis: redisDown });
  process.env.JIM_TEST_SKIP_LOG = path.join(os.tmpdir(), `jim-test-skips-${process.pid}-${Date.now()}.log`);
  fs.writeFileSync(process.env.JIM_TEST_SKIP_LOG, '');
};
