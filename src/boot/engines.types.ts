import type { Config } from '../config';
import type { HealthCheck } from '../http/service.routes';
import type { Pool } from '../infra/mysql';
import type { RedisClients } from '../infra/redis';
import type { SqliteDatabase } from '../infra/sqlite';
import type { PoolStats } from '../shared/metrics';
import type { LimiterFactory } from '../shared/rate-limit';
import type { SecretStore } from '../shared/secrets';
import type { ShortLivedStore } from '../shared/short-lived';
import type { GatewayEngine } from '../gateway/engine';
import type { AccountsStore } from '../modules/accounts/accounts.store';
import type { FriendsStore } from '../modules/friends/friends.store';
import type { GroupsStore } from '../modules/groups/groups.store';
import type { MessageStore } from '../modules/messages/messages.store';
import type { SocialCache } from '../modules/social-graph/social-graph.cache';
import type { UploadStorage } from '../modules/uploads/uploads.storage';
import type { UploadStore } from '../modules/uploads/uploads.store';

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
