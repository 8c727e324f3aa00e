import path from 'node:path';
import type { Config } from '../config';
import type { HealthCheck } from '../http/service.routes';
import type { Logger } from '../shared/logger';
import type { GenerationCache } from '../shared/generation-cache';
import type { FriendsStore } from '../modules/friends/friends.store';
import type { GroupsStore } from '../modules/groups/groups.store';
import { SocialCache } from '../modules/social-graph/social-graph.cache';
import type { UploadStorage } from '../modules/uploads/uploads.storage';
import { DiskUploadStorage } from '../modules/uploads/uploads.storage.disk';
import type { CloseHook } from './engines.types';

/** The social cache over its storage engine, reading misses from the stores. */
export function socialCacheOf(
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

/** Where uploaded bytes live: an S3-compatible bucket when `uploads.storage` is s3, DATA_DIR/uploads otherwise. */
export async function uploadStorageOf(
  config: Config,
  closeHooks: CloseHook[],
  healthChecks: HealthCheck[],
): Promise<UploadStorage> {
  let storage: UploadStorage;
  if (config.uploads.storage === 's3') {
    // The AWS SDK loads only when a bucket is configured.
    const { S3UploadStorage } =
      require('../modules/uploads/uploads.storage.s3') as typeof import('../modules/uploads/uploads.storage.s3');
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
