// Prints the suites skipped for a missing server, one line each, then drops test databases that a crashed
// test file left behind. Other test runs may be going on at the same time against the same server, so only
// databases whose tables are over an hour old are dropped: a live test database is never that old, and each
// test file drops its own database when it finishes.
const fs = require('node:fs');
const mysql = require('mysql2/promise');

const STALE_AFTER_HOURS = 1;

function reportSkips() {
  const log = process.env.JIM_TEST_SKIP_LOG;
  if (!log || !fs.existsSync(log)) return;
  const lines = [...new Set(fs.readFileSync(log, 'utf8').split('\n').filter(Boolean))];
  fs.rmSync(log, { force: true });
  if (lines.length) process.stdout.write(`\n${lines.join('\n')}\n`);
}

module.exports = async () => {
  reportSkips();
  if (JSON.parse(process.env.JIM_TEST_SERVERS || '{}').mysql) return;
  const url = new URL(process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/jim');
  const conn = await mysql.createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username || 'root'),
    password: decodeURIComponent(url.password || ''),
  });
  const [rows] = await conn.query(
    `SELECT table_schema AS db FROM information_schema.tables
      WHERE table_schema LIKE 'jim\\_t\\_%'
      GROUP BY table_schema
     HAVING MAX(create_time) < NOW() - INTERVAL ${STALE_AFTER_HOURS} HOUR`,
  );
  for (const row of rows) await conn.query(`DROP DATABASE IF EXISTS \`${row.db}\``);
  await conn.end();
};
