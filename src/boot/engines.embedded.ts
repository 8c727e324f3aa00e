import path from 'node:path';
import type { Config } from '../config';
import type { HealthCheck } from '../http/service.routes';
import { MemoryGenerationCache } from '../infra/memory/generation-cache.memory';
import { memoryLimiters } from '../infra/memory/rate-limit.memory';
import { closeSqlite, createSqlite, SqliteSecretStore } from '../infra/sqlite';
import { SqliteShortLivedStore } from '../infra/sqlite.short-lived';
import type { Logger } from '../shared/logger';
import { memoryGatewayEngine } from '../gateway/engine.memory';
import { SqliteAccountsStore } from '../modules/accounts/accounts.store.sqlite';
import { SqliteFriendsStore } from '../modules/friends/friends.store.sqlite';
import { SqliteGroupsStore } from '../modules/groups/groups.store.sqlite';
import { SqliteMessageStore } from '../modules/messages/messages.store.sqlite';
import { SqliteUploadStore } from '../modules/uploads/uploads.store.sqlite';
import { socialCacheOf, uploadStorageOf } from './engines.shared';
import type { CloseHook, EmbeddedEngines } from './engines.types';

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
