// Checks that MariaDB and Redis answer before any test runs, so failures say what is missing.
const mysql = require('mysql2/promise');
const { Redis } = require('ioredis');

module.exports = async () => {
  const url = new URL(process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/jim');
  const conn = await mysql
    .createConnection({
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username || 'root'),
      password: decodeURIComponent(url.password || ''),
    })
    .catch((err) => {
      throw new Error(`MariaDB/MySQL is not reachable at ${url.host}: ${err.message}`);
    });
  await conn.end();
  const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379/0', {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  await redis.connect().catch((err) => {
    throw new Error(`Redis is not reachable: ${err.message}`);
  });
  await redis.quit();
};
