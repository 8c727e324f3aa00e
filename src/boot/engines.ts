import path from 'node:path';
import type { Config } from '../config';
import type { HealthCheck } from '../http/service.routes';
import { closeMongoConnection, createMongoConnection } from '../infra/mongo';
import { createMysqlPool, migrate, MysqlSecretStore, poolStats, type Pool } from '../infra/mysql';
import { closeRedisClients, createRedisClients, type RedisClients } from '../infra/redis';
import { RedisShortLivedStore } from '../infra/redis/short-lived.redis';
import { RedisGenerationCache } from '../infra/redis/generation-cache.redis';
import { redisLimiters } from '../infra/redis/rate-limit.redis';
import { MemoryGenerationCache } from '../infra/memory/generation-cache.memory';
import { memoryLimiters } from '../infra/memory/rate-limit.memory';
import { closeSqlite, createSqlite, SqliteSecretStore, type SqliteDatabase } from '../infra/sqlite';
import { SqliteShortLivedStore } from '../infra/sqlite.short-lived';
import type { Logger } from '../shared/logger';
import type { PoolStats } from '../shared/metrics';
import type { LimiterFactory } from '../shared/rate-limit';
import type { SecretStore } from '../shared/secrets';
import type { ShortLivedStore } from '../shared/short-lived';
import type { GenerationCache } from '../shared/generation-cache';
import type { GatewayEngine } from '../gateway/engine';
import { redisGatewayEngine } from '../gateway/engine.redis';
import { memoryGatewayEngine } from '../gateway/engine.memory';
import type { AccountsStore } from '../modules/accounts/accounts.store';
import { MysqlAccountsStore } from '../modules/accounts/accounts.store.mysql';
import { SqliteAccountsStore } from '../modules/accounts/accounts.store.sqlite';
import type { FriendsStore } from '../modules/friends/friends.store';
import { MysqlFriendsStore } from '../modules/friends/friends.store.mysql';
import { SqliteFriendsStore } from '../modules/friends/friends.store.sqlite';
import type { GroupsStore } from '../modules/groups/groups.store';
import { MysqlGroupsStore } from '../modules/groups/groups.store.mysql';
import { SqliteGroupsStore } from '../modules/groups/groups.store.sqlite';
import type { MessageStore } from '../modules/messages/messages.store';
import { MysqlMessageStore } from '../modules/messages/messages.store.mysql';
import { MongoMessageStore } from '../modules/messages/messages.store.mongo';
import { SqliteMessageStore } from '../modules/messages/messages.store.sqlite';
import { SocialCache } from '../modules/social-graph/social-graph.cache';
import type { UploadStorage } from '../modules/uploads/uploads.storage';
import { DiskUploadStorage } from '../modules/uploads/uploads.storage.disk';
import { S3UploadStorage } from '../modules/uploads/uploads.storage.s3';
import type { UploadStore } from '../modules/uploads/uploads.store';
import { MysqlUploadStore } from '../modules/uploads/uploads.store.mysql';
import { SqliteUploadStore } from '../modules/uploads/uploads.store.sqlite';

/** Something an engine opened and the instance closes when it stops (after the sockets and HTTP). */
export interface CloseHook {
  name: string;
  close: () => Promise<void>;
}

/** The four feature stores and the uploads' records. */
export interface Stores {
  accounts: AccountsStore;
  friends: FriendsStore;
  groups: GroupsStore;
  messages: MessageStore;
  uploads: UploadStore;
}

/** What federation keeps (peer keys and its own, in MySQL; nonces and key-fetch gates as short-lived keys). */
export interface FederationEngine {
  pool: Pool;
  shortLived: ShortLivedStore;
}

/**
 * Everything the engines phase builds: the infrastructure behind every port. The services phase takes
 * these and never asks which engine runs: `distributedEngines` builds the MySQL/MongoDB/Redis set,
 * `embeddedEngines` the SQLite and in-process one.
 */
export interface Engines {
  mode: Config['mode'];
  stores: Stores;
  /** Captcha answers, token revocations, login failure counts, federation nonces. */
  shortLived: ShortLivedStore;
  /** A limiter of `points` per `seconds` per key, named `name` (REST and WS draw on the same budgets). */
  rateLimiter(name: string, points: number, seconds: number): ReturnType<LimiterFactory>;
  /** The social graph's hot-path cache (relations, group members, blocks). */
  socialCache: SocialCache;
  /** The gateway's broker, connection registry and instance lease. */
  gateway: GatewayEngine;
  secrets: SecretStore;
  uploadStorage: UploadStorage;
  /** Federation's storage; null where the engines have none (federation then cannot be enabled). */
  federation: FederationEngine | null;
  /** Checked by `/readyz`, each named after the store it checks. */
  healthChecks: HealthCheck[];
  /** The database pool's figures for `/metrics`, where there is a pool. */
  poolStats?: () => PoolStats;
  /** Closed together when the instance stops, after the sockets and HTTP have drained. */
  closeHooks: CloseHook[];
}

/** The distributed engines with the clients they hold (tests on MariaDB and Redis read them directly). */
export interface DistributedEngines extends Engines {
  mode: 'distributed';
  mysql: Pool;
  redis: RedisClients;
}

/** The embedded engines with the database they hold. */
export interface EmbeddedEngines extends Engines {
  mode: 'embedded';
  sqlite: SqliteDatabase;
}

/** The engines of `config.mode`. */
export async function buildEngines(config: Config, logger: Logger): Promise<Engines> {
  if (config.mode === 'distributed') return distributedEngines(config, logger);
  return embeddedEngines(config, logger);
}

/** The social cache over its storage engine, reading misses from the stores. */
function socialCacheOf(
  storage: GenerationCache,
  friends: FriendsStore,
  groups: GroupsStore,
  logger: Logger,
): SocialCache {
  return new SocialCache(
    storage,
    {
      pairRelation: (low, high) => friends.pairRelation(low, high),
      groupSnapshot: (groupId) => groups.groupSnapshot(groupId),
      blockedIds: (userId) => friends.blockedIds(userId),
    },
    logger,
  );
}

/**
 * One process, nothing but Node: everything in one SQLite database under `dataDir` (WAL, its own
 * migrations), short-lived keys there too (a revocation survives a restart), rate limits, the social cache
 * and the gateway's bus in memory; uploaded bytes on disk under `dataDir` (or in S3 when configured).
 */
export async function embeddedEngines(config: Config, logger: Logger): Promise<EmbeddedEngines> {
  const closeHooks: CloseHook[] = [];
  try {
    const dataDir = path.resolve(config.dataDir);
    const sqlite = createSqlite(dataDir, logger);
    closeHooks.push({ name: 'sqlite', close: async () => closeSqlite(sqlite) });
    const shortLived = new SqliteShortLivedStore(sqlite);
    closeHooks.push({ name: 'short-lived', close: async () => shortLived.close() });
    const cacheStorage = new MemoryGenerationCache();
    closeHooks.push({ name: 'social-cache', close: async () => cacheStorage.close() });
    const healthChecks: HealthCheck[] = [
      { name: 'sqlite', check: async () => void sqlite.prepare('SELECT 1').get() },
    ];
    const friends = new SqliteFriendsStore(sqlite);
    const groups = new SqliteGroupsStore(sqlite);
    const uploadStorage = await uploadStorageOf(config, closeHooks, healthChecks);
    const limiters = memoryLimiters();
    logger.info({ dataDir }, 'embedded mode: SQLite under DATA_DIR, delivery in-process');
    return {
      mode: 'embedded',
      sqlite,
      stores: {
        accounts: new SqliteAccountsStore(sqlite),
        friends,
        groups,
        messages: new SqliteMessageStore(sqlite),
        uploads: new SqliteUploadStore(sqlite),
      },
      shortLived,
      rateLimiter: (name, points, seconds) => limiters(name, { points, seconds }),
      socialCache: socialCacheOf(cacheStorage, friends, groups, logger),
      gateway: memoryGatewayEngine(),
      secrets: new SqliteSecretStore(sqlite),
      uploadStorage,
      federation: null,
      healthChecks,
      closeHooks,
    };
  } catch (err) {
    await Promise.all(closeHooks.map((hook) => hook.close().catch(() => undefined)));
    throw err;
  }
}

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

/** Where uploaded bytes live: an S3-compatible bucket when `uploads.storage` is s3, DATA_DIR/uploads otherwise. */
export async function uploadStorageOf(
  config: Config,
  closeHooks: CloseHook[],
  healthChecks: HealthCheck[],
): Promise<UploadStorage> {
  let storage: UploadStorage;
  if (config.uploads.storage === 's3') {
    const s3 = new S3UploadStorage(config.uploads.s3);
    closeHooks.push({ name: 'uploads-s3', close: async () => s3.close() });
    storage = s3;
  } else {
    const disk = new DiskUploadStorage(path.resolve(config.dataDir, 'uploads'));
    await disk.init();
    storage = disk;
  }
  healthChecks.push({ name: 'uploads', check: () => storage.check() });
  return storage;
}
