// Drops test databases that a crashed test file left behind.
const mysql = require('mysql2/promise');

module.exports = async () => {
  const url = new URL(process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/jim');
  const conn = await mysql.createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username || 'root'),
    password: decodeURIComponent(url.password || ''),
  });
  const [rows] = await conn.query("SHOW DATABASES LIKE 'jim\\_t\\_%'");
  for (const row of rows) await conn.query(`DROP DATABASE IF EXISTS \`${Object.values(row)[0]}\``);
  await conn.end();
};
