import path from 'node:path';
import type { Config } from '../config';
import type { HealthCheck } from '../http/service.routes';
import { closeMongoConnection, createMongoConnection } from '../infra/mongo';
import { createMysqlPool, migrate, poolStats, sharedSecret, type Pool } from '../infra/mysql';
import {
  closeRedisClients,
  createRedisClients,
  type Redis,
  type RedisClients,
  type RedisKeys,
} from '../infra/redis';
import type { Logger } from '../shared/logger';
import type { PoolStats } from '../shared/metrics';
import { RedisRateLimiter, type Limiter } from '../shared/rate-limit';
import type { AccountsStore } from '../modules/accounts/accounts.store';
import { MysqlAccountsStore } from '../modules/accounts/accounts.store.mysql';
import type { FriendsStore } from '../modules/friends/friends.store';
import { MysqlFriendsStore } from '../modules/friends/friends.store.mysql';
import type { GroupsStore } from '../modules/groups/groups.store';
import { MysqlGroupsStore } from '../modules/groups/groups.store.mysql';
import type { MessageStore } from '../modules/messages/messages.store';
import { MysqlMessageStore } from '../modules/messages/messages.store.mysql';
import { MongoMessageStore } from '../modules/messages/messages.store.mongo';
import { SocialCache } from '../modules/social/social.cache';
import type { UploadStorage } from '../modules/uploads/uploads.storage';
import { DiskUploadStorage } from '../modules/uploads/uploads.storage.disk';
import { S3UploadStorage } from '../modules/uploads/uploads.storage.s3';
import type { UploadStore } from '../modules/uploads/uploads.store';
import { MysqlUploadStore } from '../modules/uploads/uploads.store.mysql';

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

/**
 * Keys that expire on their own: captcha answers, token revocations, login failures. Today the Redis
 * command client and its key names; the short-lived key port of the engines branch replaces this shape.
 */
export interface ShortLivedKeys {
  redis: Redis;
  keys: RedisKeys;
}

/**
 * How the gateway routes events to other instances and keeps the connection registry and presence. Today
 * the Redis clients; the gateway's broker and registry ports replace this shape.
 */
export interface GatewayEngine {
  redis: RedisClients;
}

/** Where the deployment's shared secrets live (the JWT secret made by the first instance that started). */
export interface SecretStore {
  /** The secret named `name`, made with `generate` and kept when none exists yet; every instance gets the same. */
  shared(name: string, generate: () => string): Promise<string>;
}

/** What federation keeps (peer keys and its own, in MySQL; key fetch locks in Redis). */
export interface FederationEngine {
  pool: Pool;
  redis: RedisClients;
}

/**
 * Everything the engines phase builds: the infrastructure behind every port. The services phase takes
 * these and never asks which engine runs. `distributedEngines` builds today's MySQL/MongoDB/Redis set;
 * the embedded set (SQLite and in-process structures) has the same shape.
 */
export interface Engines {
  mode: Config['mode'];
  stores: Stores;
  shortLived: ShortLivedKeys;
  /** A limiter of `points` per `seconds` per key, named `name` (REST and WS draw on the same budgets). */
  rateLimiter(name: string, points: number, seconds: number): Limiter;
  /** The social graph's hot-path cache (relations, group members, blocks). */
  socialCache: SocialCache;
  gateway: GatewayEngine;
  secrets: SecretStore;
  uploadStorage: UploadStorage;
  /** Federation's storage; null where the engines have none (federation then cannot be enabled). */
  federation: FederationEngine | null;
  /** Checked by `/readyz`. */
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

/** The engines of `config.mode`. */
export async function buildEngines(config: Config, logger: Logger): Promise<Engines> {
  if (config.mode === 'distributed') return distributedEngines(config, logger);
  throw new Error(
    'embedded engines not built: set MYSQL_URL and REDIS_URL to run in the distributed mode for now',
  );
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
    const socialCache = new SocialCache(
      redis.command,
      redis.keys,
      {
        pairRelation: (low, high) => friends.pairRelation(low, high),
        groupSnapshot: (groupId) => groups.groupSnapshot(groupId),
        blockedIds: (userId) => friends.blockedIds(userId),
      },
      logger,
    );
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
      shortLived: { redis: redis.command, keys: redis.keys },
      rateLimiter: (name, points, seconds) =>
        new RedisRateLimiter(redis.command, redis.keys, name, { points, seconds }),
      socialCache,
      gateway: { redis },
      secrets: { shared: (name, generate) => sharedSecret(mysql, name, generate) },
      uploadStorage,
      federation: { pool: mysql, redis },
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
