import path from 'node:path';
import type { Config } from '../config';
import type { HealthCheck } from '../http/service.routes';
import { closeMongoConnection, createMongoConnection } from '../infra/mongo';
import { createMysqlPool, migrate, MysqlSecretStore, poolStats, type Pool } from '../infra/mysql';
import { closeRedisClients, createRedisClients } from '../infra/redis';
import { RedisShortLivedStore } from '../infra/redis/short-lived.redis';
import { RedisGenerationCache } from '../infra/redis/generation-cache.redis';
import { redisLimiters } from '../infra/redis/rate-limit.redis';
import type { Logger } from '../shared/logger';
import { redisGatewayEngine } from '../gateway/engine.redis';
import { MysqlAccountsStore } from '../modules/accounts/accounts.store.mysql';
import { MysqlFriendsStore } from '../modules/friends/friends.store.mysql';
import { MysqlGroupsStore } from '../modules/groups/groups.store.mysql';
import type { MessageStore } from '../modules/messages/messages.store';
import { MysqlMessageStore } from '../modules/messages/messages.store.mysql';
import { MongoMessageStore } from '../modules/messages/messages.store.mongo';
import { MysqlUploadStore } from '../modules/uploads/uploads.store.mysql';
import { socialCacheOf, uploadStorageOf } from './engines.shared';
import type { CloseHook, DistributedEngines } from './engines.types';

/**
 * MySQL/MariaDB (migrated at start) for accounts, relations, groups and uploads; messages in MongoDB when
 * `mongodb.uri` is set, in MySQL otherwise; Redis for short-lived keys, rate limits, the social cache and
 * the gateway; uploaded bytes on disk under `dataDir` or in an S3-compatible bucket.
 */
export async function distributedEngines(config: Config, logger: Logger): Promise<DistributedEngines> {
  const closeHooks: CloseHook[] = [];
  try {
    const mysql = await createMysqlPool(config.mysql.url, config.mysql.poolSize);
    closeHooks.push({ name: 'mysql', close: () => mysql.end() });
    await migrate(mysql, path.resolve(__dirname, '../../sql'), logger);

    const redis = await createRedisClients(config.redis.url, config.redis.prefix, {
      logger,
      commandTimeoutMs: config.redis.commandTimeoutMs,
    });
    closeHooks.push({ name: 'redis', close: () => closeRedisClients(redis) });

    const healthChecks: HealthCheck[] = [
      { name: 'mysql', check: async () => void (await mysql.query('SELECT 1')) },
      { name: 'redis', check: async () => void (await redis.command.ping()) },
    ];
    const friends = new MysqlFriendsStore(mysql);
    const groups = new MysqlGroupsStore(mysql);
    const socialCache = socialCacheOf(
      new RedisGenerationCache(redis.command, redis.keys),
      friends,
      groups,
      logger,
    );
    const shortLived = new RedisShortLivedStore(redis.command, redis.keys);
    const limiters = redisLimiters(redis.command, redis.keys);
    const messages = await mysqlOrMongoMessages(config, mysql, closeHooks, healthChecks);
    const uploadStorage = await uploadStorageOf(config, closeHooks, healthChecks);

    return {
      mode: 'distributed',
      mysql,
      redis,
      stores: {
        accounts: new MysqlAccountsStore(mysql),
        friends,
        groups,
        messages,
        uploads: new MysqlUploadStore(mysql),
      },
      shortLived,
      rateLimiter: (name, points, seconds) => limiters(name, { points, seconds }),
      socialCache,
      gateway: redisGatewayEngine(redis),
      secrets: new MysqlSecretStore(mysql),
      uploadStorage,
      federation: { pool: mysql, shortLived },
      healthChecks,
      poolStats: () => poolStats(mysql),
      closeHooks,
    };
  } catch (err) {
    // Whatever opened before the failure must not keep the process alive.
    await Promise.all(closeHooks.map((hook) => hook.close().catch(() => undefined)));
    throw err;
  }
}

/** The message store: MongoDB when `mongodb.uri` is set (with its health check), MySQL otherwise. */
async function mysqlOrMongoMessages(
  config: Config,
  mysql: Pool,
  closeHooks: CloseHook[],
  healthChecks: HealthCheck[],
): Promise<MessageStore> {
  if (!config.mongodb.uri) return new MysqlMessageStore(mysql);
  const mongo = await createMongoConnection(config.mongodb.uri);
  closeHooks.push({ name: 'mongodb', close: () => closeMongoConnection(mongo) });
  healthChecks.push({ name: 'mongodb', check: async () => void (await mongo.db!.command({ ping: 1 })) });
  const store = new MongoMessageStore(mongo);
  await store.init();
  return store;
}
