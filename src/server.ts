import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Config } from './config';
import { buildApp, type RouteModule } from './app';
import { createMysqlPool, migrate, poolStats, sharedSecret, type Pool } from './infra/mysql';
import { closeRedisClients, createRedisClients, type RedisClients } from './infra/redis';
import type { HealthCheck } from './http/service.routes';
import { originCheck, upgradeOriginCheck } from './http/cors';
import { Lifecycle, Phase } from './shared/lifecycle';
import { createLogger, type Logger } from './shared/logger';
import { Metrics } from './shared/metrics';
import { AccountsService } from './modules/accounts/accounts.service';
import { MysqlAccountsStore } from './modules/accounts/accounts.store.mysql';
import { CaptchaService } from './modules/accounts/captcha.service';
import { LoginFailures } from './modules/accounts/login-throttle';
import { RedisRateLimiter } from './infra/redis/rate-limit.redis';
import { RedisShortLivedStore } from './infra/redis/short-lived.redis';
import { RedisGenerationCache } from './infra/redis/generation-cache.redis';
import { TokenService } from './modules/accounts/tokens';
import { accountsRoutes } from './modules/accounts/accounts.routes';
import { Gateway } from './gateway/gateway';
import { redisGatewayEngine } from './gateway/engine.redis';
import { requestIdOf } from './http/middleware';
import { timedBroadcast, timedDelivery } from './gateway/timed-delivery';
import { closeMongoConnection, createMongoConnection } from './infra/mongo';
import type { MessageStore } from './modules/messages/messages.store';
import { MysqlMessageStore } from './modules/messages/messages.store.mysql';
import { MongoMessageStore } from './modules/messages/messages.store.mongo';
import { MessagesService } from './modules/messages/messages.service';
import { WORLD_ID } from './modules/messages/conversation-id';
import { messagesRoutes } from './modules/messages/messages.routes';
import { registerMessageFrames } from './modules/messages/messages.frames';
import { SocialCache } from './modules/social-graph/social-graph.cache';
import { CachedSocialPolicy } from './modules/social-graph/social-graph.policy';
import { NoopDelivery } from './shared/push';
import { FriendsService } from './modules/friends/friends.service';
import { MysqlFriendsStore } from './modules/friends/friends.store.mysql';
import { friendsRoutes } from './modules/friends/friends.routes';
import { GroupsService } from './modules/groups/groups.service';
import { MysqlGroupsStore } from './modules/groups/groups.store.mysql';
import { groupsRoutes } from './modules/groups/groups.routes';
import { Federation } from './modules/federation/federation.service';
import { federationRoutes } from './modules/federation/federation.routes';
import type { UploadStorage } from './modules/uploads/uploads.storage';
import { DiskUploadStorage } from './modules/uploads/uploads.storage.disk';
import { S3UploadStorage } from './modules/uploads/uploads.storage.s3';
import { MysqlUploadStore } from './modules/uploads/uploads.store.mysql';
import { UploadsService } from './modules/uploads/uploads.service';
import { uploadsRoutes } from './modules/uploads/uploads.routes';

/** Everything a running instance holds; tests reach into it to check stored state. */
export interface Instance {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  mysql: Pool;
  redis: RedisClients;
  app: Express;
  server: http.Server;
  url: string;
  lifecycle: Lifecycle;
  services: {
    accounts: AccountsService;
    tokens: TokenService;
    friends: FriendsService;
    groups: GroupsService;
    socialPolicy: CachedSocialPolicy;
    messages: MessagesService;
    messageStore: MessageStore;
    uploads: UploadsService;
    uploadStorage: UploadStorage;
  };
  /** The WebSocket gateway: `delivery` and `frames` for the modules, `presence`, `setPresenceAudience`. */
  gateway: Gateway;
  /** Server-to-server federation, when enabled. */
  federation: Federation | null;
  /** Graceful stop (does not exit the process). */
  stop: () => Promise<void>;
}

/** Composition root: config → clients → stores → services → http + ws → lifecycle. */
export async function startInstance(
  config: Config,
  logger: Logger = createLogger({ level: config.log.level }),
): Promise<Instance> {
  const lifecycle = new Lifecycle(logger);

  const mysql = await createMysqlPool(config.mysql.url, config.mysql.poolSize);
  lifecycle.onStop(Phase.CloseClients, 'mysql', () => mysql.end());
  const metrics = new Metrics({ dbPool: () => poolStats(mysql) });
  await migrate(mysql, path.resolve(__dirname, '../sql'), logger);

  const redis = await createRedisClients(config.redis.url, config.redis.prefix, {
    logger,
    commandTimeoutMs: config.redis.commandTimeoutMs,
  });
  lifecycle.onStop(Phase.CloseClients, 'redis', () => closeRedisClients(redis));

  // A configured secret wins; otherwise the deployment's own, made by the first instance that started.
  const jwtSecret =
    config.auth.jwtSecret || (await sharedSecret(mysql, 'jwt', () => randomBytes(48).toString('base64url')));
  const shortLived = new RedisShortLivedStore(redis.command, redis.keys);
  const tokens = new TokenService(shortLived, jwtSecret, config.auth.tokenTtlSeconds);
  const captcha = new CaptchaService(shortLived, config.captcha.ttlSeconds, config.captcha.enabled);
  const accountsStore = new MysqlAccountsStore(mysql);
  const friendsStore = new MysqlFriendsStore(mysql);
  const accounts = new AccountsService({
    store: accountsStore,
    tokens,
    captcha,
    loginFailures: new LoginFailures(
      shortLived,
      config.auth.loginFailuresBeforeCaptcha,
      config.auth.loginFailureWindowSeconds,
    ),
    blocks: { blockersAmong: (viewerId, ids) => friendsStore.blockersAmong(viewerId, ids) },
    logger,
  });
  tokens.checkAccountsWith((userId) => accounts.isActive(userId));

  const groupsStore = new MysqlGroupsStore(mysql);
  const socialCache = new SocialCache(
    new RedisGenerationCache(redis.command, redis.keys),
    {
      pairRelation: (low, high) => friendsStore.pairRelation(low, high),
      groupSnapshot: (groupId) => groupsStore.groupSnapshot(groupId),
      blockedIds: (userId) => friendsStore.blockedIds(userId),
    },
    logger,
  );
  const socialPolicy = new CachedSocialPolicy(socialCache);
  // The gateway needs the HTTP server, so its delivery is plugged in once it exists (below).
  const friends = new FriendsService({
    store: friendsStore,
    accounts,
    cache: socialCache,
    delivery: new NoopDelivery(),
    logger,
  });
  const groups = new GroupsService({
    store: groupsStore,
    accounts,
    friends,
    cache: socialCache,
    delivery: new NoopDelivery(),
    logger,
    limits: config.groups,
  });

  const healthChecks: HealthCheck[] = [
    { name: 'mysql', check: async () => void (await mysql.query('SELECT 1')) },
    { name: 'redis', check: async () => void (await redis.command.ping()) },
  ];

  const messageStore = await createMessageStore(config, mysql, lifecycle, healthChecks);
  const uploadStorage = await createUploadStorage(config, lifecycle, healthChecks);
  const uploads: UploadsService = new UploadsService({
    store: new MysqlUploadStore(mysql),
    storage: uploadStorage,
    tmpDir: path.resolve(config.dataDir, 'uploads', '.tmp'),
    limits: config.uploads,
    rate: new RedisRateLimiter(redis.command, redis.keys, 'uploads', {
      points: config.rateLimit.uploadsPerMinute,
      seconds: 60,
    }),
    // Read access to an upload follows read access to the messages that refer to it.
    access: {
      canReadMessage: (userId: string, messageId: string): Promise<boolean> =>
        messages.canReadMessage(userId, messageId),
    },
    publicBaseUrl: config.uploads.publicBaseUrl,
    orphanTtlSeconds: config.uploads.orphanTtlSeconds,
    logger,
  });
  await uploads.init();
  const sweep = setInterval(() => {
    uploads.sweep().catch((err: unknown) => logger.warn({ err }, 'upload sweep failed'));
  }, config.uploads.sweepIntervalSeconds * 1000);
  sweep.unref();
  lifecycle.onStop(Phase.StopAccepting, 'uploads-sweep', async () => clearInterval(sweep));
  const rl = config.rateLimit;
  const limiter = (name: string, points: number, seconds: number) =>
    new RedisRateLimiter(redis.command, redis.keys, name, { points, seconds });
  const messages: MessagesService = new MessagesService({
    store: messageStore,
    users: {
      publicUsersByIds: (ids, viewerId) => accounts.publicUsersByIds(ids, viewerId),
      roleOf: async (id) => {
        const user = await accountsStore.findById(id);
        return user && user.status === 'active' ? user.role : null;
      },
    },
    logger,
    recallSeconds: config.messages.recallSeconds,
    worldEnabled: config.world.enabled,
    limits: {
      messages: limiter('messages', rl.messagesPerSecond, 1),
      // One event per interval: a single point that refills when the interval ends.
      typing: limiter('typing', rl.typingIntervalSeconds > 0 ? 1 : 0, rl.typingIntervalSeconds),
    },
    uploads,
  });
  messages.setSocialPolicy(socialPolicy);
  messages.setGroupDirectory(groups);
  friends.setHooks(messages);

  const modules: RouteModule[] = [
    accountsRoutes({
      accounts,
      captcha,
      tokens,
      limits: {
        login: limiter('login', rl.loginPerMinute, 60),
        register: limiter('register', rl.registerPerMinute, 60),
        captcha: limiter('captcha', rl.captchaPerMinute, 60),
        profileChanges: limiter('profile', rl.profileChangesPerMinute, 60),
      },
    }),
    friendsRoutes({
      friends,
      tokens,
      limits: { friendRequests: limiter('friend-requests', rl.friendRequestsPerMinute, 60) },
    }),
    groupsRoutes({
      groups,
      tokens,
      limits: {
        groupCreations: limiter('group-creations', rl.groupCreationsPerMinute, 60),
        joinRequests: limiter('join-requests', rl.joinRequestsPerMinute, 60),
      },
    }),
    messagesRoutes({ messages, tokens }),
    uploadsRoutes({ uploads, tokens }),
  ];

  let federation: Federation | null = null;
  if (config.federation.enabled) {
    federation = new Federation({ config: config.federation, pool: mysql, shortLived, logger, metrics });
    await federation.start();
    modules.push(federationRoutes(federation, config.federation.domain));
  }

  const origins = originCheck({ env: config.env, origins: config.cors.origins });
  const app = buildApp({ config, logger, metrics, healthChecks, modules, origins });
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const gateway = new Gateway({
    server,
    ws: config.ws,
    presenceTtlSeconds: config.presence.ttlSeconds,
    tokens,
    engine: redisGatewayEngine(redis),
    choices: async (ids) => new Map((await accountsStore.findByIds(ids)).map((u) => [u.id, u.presence])),
    optOuts: (ids) => messageStore.mutedOf(WORLD_ID, ids),
    inactiveAmong: (ids) => accounts.inactiveAmong(ids),
    logger,
    metrics,
    allowOrigin: upgradeOriginCheck(origins),
    requestIdOf,
  });
  await gateway.start();
  tokens.setRevocationListener(gateway.revocations);
  accounts.setPresence(gateway.presence, gateway.presence);
  accounts.setCutOff(gateway.cutOff);
  friends.setDelivery(gateway.delivery);
  groups.setDelivery(gateway.delivery);
  gateway.setPresenceAudience((userId) => friends.presenceAudience(userId));
  messages.setDelivery(
    timedDelivery(gateway.delivery, metrics.messageDelivery),
    timedBroadcast(gateway.broadcaster, metrics.messageDelivery),
  );
  registerMessageFrames(gateway.frames, messages);
  lifecycle.onStop(Phase.StopAccepting, 'gateway-accepting', () => gateway.stopAccepting());
  lifecycle.onStop(Phase.CloseSockets, 'gateway', () => gateway.stop());

  lifecycle.onStop(Phase.DrainHttp, 'http', () => drainHttp(server, config.server.shutdownTimeoutMs));

  logger.info({ port, workers: config.server.workers }, 'instance listening');
  return {
    config,
    logger,
    metrics,
    mysql,
    redis,
    app,
    server,
    url,
    lifecycle,
    services: {
      accounts,
      tokens,
      friends,
      groups,
      socialPolicy,
      messages,
      messageStore,
      uploads,
      uploadStorage,
    },
    gateway,
    federation,
    stop: () => lifecycle.stop(),
  };
}

/** The message store: MongoDB when `mongodb.uri` is set (with its health check), MySQL otherwise. */
async function createMessageStore(
  config: Config,
  mysql: Pool,
  lifecycle: Lifecycle,
  healthChecks: HealthCheck[],
): Promise<MessageStore> {
  if (!config.mongodb.uri) return new MysqlMessageStore(mysql);
  const mongo = await createMongoConnection(config.mongodb.uri);
  lifecycle.onStop(Phase.CloseClients, 'mongodb', () => closeMongoConnection(mongo));
  healthChecks.push({ name: 'mongodb', check: async () => void (await mongo.db!.command({ ping: 1 })) });
  const store = new MongoMessageStore(mongo);
  await store.init();
  return store;
}

/** Where uploaded bytes live: an S3-compatible bucket when `uploads.storage` is s3, DATA_DIR/uploads otherwise. */
async function createUploadStorage(
  config: Config,
  lifecycle: Lifecycle,
  healthChecks: HealthCheck[],
): Promise<UploadStorage> {
  let storage: UploadStorage;
  if (config.uploads.storage === 's3') {
    const s3 = new S3UploadStorage(config.uploads.s3);
    lifecycle.onStop(Phase.CloseClients, 'uploads-s3', async () => s3.close());
    storage = s3;
  } else {
    const disk = new DiskUploadStorage(path.resolve(config.dataDir, 'uploads'));
    await disk.init();
    storage = disk;
  }
  healthChecks.push({ name: 'uploads', check: () => storage.check() });
  return storage;
}

/** Stops accepting, lets in-flight requests finish until the deadline, then cuts what is left. */
function drainHttp(server: http.Server, deadlineMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections();
    }, deadlineMs);
    timer.unref();
    // Node keeps a keep-alive connection open after its last reply; close each one as soon as it idles.
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    server.close(() => {
      clearTimeout(timer);
      clearInterval(idle);
      resolve();
    });
    server.closeIdleConnections();
  });
}
