import path from 'node:path';
import { ConfigError, loadConfig } from '../config';
import { createMysqlPool, migrate } from '../infra/mysql';
import { createLogger } from '../shared/logger';
import { FederationKeys } from '../modules/federation/federation.keys';
import { MysqlFederationKeyStore } from '../modules/federation/federation.keys.store.mysql';

const USAGE = 'usage: npm run federation -- rotate-key | list-keys';

/**
 * Operator commands for federation: `rotate-key` makes a new signing key current (the old one stays listed in
 * the well-known document, expired now, so signatures made before still verify); `list-keys` prints the keys.
 */
async function main(args: string[]): Promise<number> {
  const command = args[0];
  if (command !== 'rotate-key' && command !== 'list-keys') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  if (config.mode !== 'distributed') {
    process.stderr.write('federation keys live in MySQL: set MYSQL_URL and REDIS_URL\n');
    return 1;
  }
  const logger = createLogger({ level: 'warn' });
  const pool = await createMysqlPool(config.mysql.url, 1);
  try {
    await migrate(pool, path.resolve(__dirname, '../../sql'), logger);
    const keys = new FederationKeys(new MysqlFederationKeyStore(pool));
    await keys.ensureKey();
    if (command === 'rotate-key') {
      const keyId = await keys.rotate();
      process.stdout.write(`new signing key ${keyId}; instances sign with it within 30 s\n`);
    }
    for (const k of await keys.listKeys()) {
      const state = k.expiredAt ? `expired ${k.expiredAt.toISOString()}` : 'current';
      process.stdout.write(`${k.keyId}\t${state}\t${k.publicKey}\n`);
    }
    return 0;
  } finally {
    await pool.end();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
    process.exit(1);
  },
);
