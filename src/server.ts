import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { workerCount, type Config } from './config';
import { buildApp, type RouteModule } from './app';
import { buildEngines, type DistributedEngines, type Engines } from './boot/engines';
import type { DomainEventBus, DomainEvents } from './boot/events';
import { subscribeAll } from './boot/subscriptions';
import type { Pool } from './infra/mysql';
import type { RedisClients } from './infra/redis';
import { originCheck, upgradeOriginCheck } from './http/cors';
import { requestIdOf } from './http/middleware';
import { EventBus } from './shared/events';
import { Lifecycle, Phase } from './shared/lifecycle';
import { createLogger, type Logger } from './shared/logger';
import { Metrics } from './shared/metrics';
import { AccountStatuses, AccountsService } from './modules/accounts/accounts.service';
import { CaptchaService } from './modules/accounts/captcha.service';
import { LoginFailures } from './modules/accounts/login-throttle';
import { TokenService } from './modules/accounts/tokens';
import { accountsRoutes } from './modules/accounts/accounts.routes';
import { Gateway } from './gateway/gateway';
import { timedBroadcast, timedDelivery } from './gateway/timed-delivery';
import type { MessageStore } from './modules/messages/messages.store';
import { MessageAccess } from './modules/messages/messages.access';
import { MessagesService } from './modules/messages/messages.service';
import { WORLD_ID } from './modules/messages/conversation-id';
import { messagesRoutes } from './modules/messages/messages.routes';
import { registerMessageFrames } from './modules/messages/messages.frames';
import { CachedSocialPolicy } from './modules/social-graph/social-graph.policy';
import { FriendsService } from './modules/friends/friends.service';
import { friendsRoutes } from './modules/friends/friends.routes';
import { GroupsService } from './modules/groups/groups.service';
import { groupsRoutes } from './modules/groups/groups.routes';
import type { Federation } from './modules/federation/federation.service';
import type { UploadStorage } from './modules/uploads/uploads.storage';
import { UploadsService } from './modules/uploads/uploads.service';
import { uploadsRoutes } from './modules/uploads/uploads.routes';

/** Everything a running instance holds; tests reach into it to check stored state. */
export interface Instance {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  /** The engines behind the ports (stores, short-lived keys, caches, the gateway's bus). */
  engines: Engines;
  /** The MySQL pool of the distributed engines (tests on MariaDB read stored rows through it). */
  mysql: Pool;
  /** The Redis clients of the distributed engines. */
  redis: RedisClients;
  /** The domain event bus (docs/events.md). */
  events: DomainEventBus;
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
  /** The WebSocket gateway: `delivery` and `frames` for the modules, `presence`. */
  gateway: Gateway;
  /** Server-to-server federation, when enabled. */
  federation: Federation | null;
  /** Graceful stop (does not exit the process). */
  stop: () => Promise<void>;
}

/**
 * Composition root, in named phases: engines (clients and stores) → transports (the HTTP server, not yet
 * listening, and the gateway on it) → services (constructor-only, with every dependency real) → event
 * subscriptions → the Express app → listen, last: no request is answered before pushes can be delivered.
 * Cycles between modules are broken by the domain events or by handing over one narrow function.
 */
export async function startInstance(
  config: Config,
  logger: Logger = createLogger({ level: config.log.level }),
): Promise<Instance> {
  const lifecycle = new Lifecycle(logger);
  const engines = await initEngines(config, logger, lifecycle);
  try {
    const events: DomainEventBus = new EventBus<DomainEvents>(logger);
    const metrics = new Metrics({ dbPool: engines.poolStats });
    const transports = await initTransports(config, logger, engines, events, metrics);
    const services = initServices(config, logger, engines, events, transports);
    subscribeAll(events, {
      cache: engines.socialCache,
      messages: services.messages,
      messageStore: engines.stores.messages,
      social: services.socialPolicy,
      delivery: transports.gateway.delivery,
      messageDelivery: timedDelivery(transports.gateway.delivery, metrics.messageDelivery),
      broadcast: timedBroadcast(transports.gateway.broadcaster, metrics.messageDelivery),
      revocations: transports.gateway.revocations,
      cutOff: transports.gateway.cutOff,
      presence: transports.gateway.presence,
      logger,
    });
    registerMessageFrames(transports.gateway.frames, services.messages);
    const federation = await initFederation(config, logger, engines, metrics);
    const app = initHttp(config, logger, engines, metrics, services, transports, federation);
    await startServing(config, logger, lifecycle, services, transports);
    const port = (transports.server.address() as AddressInfo).port;
    const distributed = engines as Partial<DistributedEngines>;
    return {
      config,
      logger,
      metrics,
      engines,
      mysql: distributed.mysql as Pool,
      redis: distributed.redis as RedisClients,
      events,
      app,
      server: transports.server,
      url: `http://127.0.0.1:${port}`,
      lifecycle,
      services: {
        accounts: services.accounts,
        tokens: services.tokens,
        friends: services.friends,
        groups: services.groups,
        socialPolicy: services.socialPolicy,
        messages: services.messages,
        messageStore: engines.stores.messages,
        uploads: services.uploads,
        uploadStorage: engines.uploadStorage,
      },
      gateway: transports.gateway,
      federation,
      stop: () => lifecycle.stop(),
    };
  } catch (err) {
    // Close what was opened (clients, the gateway's registration) so a failed start leaves nothing behind.
    await lifecycle.stop().catch(() => undefined);
    throw err;
  }
}

/** Phase 1: clients and the engines behind every port; closed last when the instance stops. */
async function initEngines(config: Config, logger: Logger, lifecycle: Lifecycle): Promise<Engines> {
  const engines = await buildEngines(config, logger);
  for (const hook of engines.closeHooks) lifecycle.onStop(Phase.CloseClients, hook.name, hook.close);
  return engines;
}

interface Transports {
  server: http.Server;
  gateway: Gateway;
  tokens: TokenService;
  statuses: AccountStatuses;
  origins: ReturnType<typeof originCheck>;
}

/**
 * Phase 2: the HTTP server (no handler, not listening) and the WebSocket gateway on it. The gateway needs
 * the token check, so the tokens are made here, with the account check backed by the accounts store.
 */
async function initTransports(
  config: Config,
  logger: Logger,
  engines: Engines,
  events: DomainEventBus,
  metrics: Metrics,
): Promise<Transports> {
  const { stores } = engines;
  // A configured secret wins; otherwise the deployment's own, made by the first instance that started.
  const jwtSecret =
    config.auth.jwtSecret ||
    (await engines.secrets.sharedSecret('jwt', () => randomBytes(48).toString('base64url')));
  const statuses = new AccountStatuses(stores.accounts);
  const tokens = new TokenService(engines.shortLived, jwtSecret, config.auth.tokenTtlSeconds, {
    isActive: (userId) => statuses.isActive(userId),
    events,
  });
  const server = http.createServer();
  server.keepAliveTimeout = 65_000;
  const origins = originCheck({ env: config.env, origins: config.cors.origins });
  const gateway = new Gateway({
    server,
    ws: config.ws,
    presenceTtlSeconds: config.presence.ttlSeconds,
    tokens,
    engine: engines.gateway,
    requestIdOf,
    choices: async (ids) => new Map((await stores.accounts.findByIds(ids)).map((u) => [u.id, u.presence])),
    // A user's presence goes to their friends but those they block.
    presenceAudience: (userId) => stores.friends.friendIds(userId, true),
    optOuts: (ids) => stores.messages.mutedOf(WORLD_ID, ids),
    inactiveAmong: (ids) => statuses.inactiveAmong(ids),
    logger,
    metrics,
    allowOrigin: upgradeOriginCheck(origins),
  });
  return { server, gateway, tokens, statuses, origins };
}

interface Services {
  accounts: AccountsService;
  tokens: TokenService;
  captcha: CaptchaService;
  friends: FriendsService;
  groups: GroupsService;
  socialPolicy: CachedSocialPolicy;
  messages: MessagesService;
  uploads: UploadsService;
}

/** Phase 3: the services, each given every dependency at construction; they publish what happened. */
function initServices(
  config: Config,
  logger: Logger,
  engines: Engines,
  events: DomainEventBus,
  transports: Transports,
): Services {
  const { stores, shortLived, rateLimiter } = engines;
  const { tokens, gateway } = transports;
  const captcha = new CaptchaService(shortLived, config.captcha.ttlSeconds, config.captcha.enabled);
  const accounts = new AccountsService({
    store: stores.accounts,
    tokens,
    captcha,
    loginFailures: new LoginFailures(
      shortLived,
      config.auth.loginFailuresBeforeCaptcha,
      config.auth.loginFailureWindowSeconds,
    ),
    blocks: { blockersAmong: (viewerId, ids) => stores.friends.blockersAmong(viewerId, ids) },
    presence: gateway.presence,
    statuses: transports.statuses,
    events,
    logger,
  });
  const friends = new FriendsService({ store: stores.friends, accounts, events });
  const groups = new GroupsService({
    store: stores.groups,
    accounts,
    friends,
    cache: engines.socialCache,
    events,
    limits: config.groups,
  });
  const socialPolicy = new CachedSocialPolicy(engines.socialCache);
  // Read access to an upload follows read access to the messages that refer to it.
  const messageAccess = new MessageAccess({
    store: stores.messages,
    social: socialPolicy,
    worldEnabled: config.world.enabled,
  });
  const uploads = new UploadsService({
    store: stores.uploads,
    storage: engines.uploadStorage,
    tmpDir: path.resolve(config.dataDir, 'uploads', '.tmp'),
    limits: config.uploads,
    rate: rateLimiter('uploads', config.rateLimit.uploadsPerMinute, 60),
    access: messageAccess,
    publicBaseUrl: config.uploads.publicBaseUrl,
    orphanTtlSeconds: config.uploads.orphanTtlSeconds,
    logger,
  });
  const rl = config.rateLimit;
  const messages = new MessagesService({
    store: stores.messages,
    users: {
      publicUsersByIds: (ids, viewerId) => accounts.publicUsersByIds(ids, viewerId),
      roleOf: async (id) => {
        const user = await stores.accounts.findById(id);
        return user && user.status === 'active' ? user.role : null;
      },
    },
    logger,
    recallSeconds: config.messages.recallSeconds,
    worldEnabled: config.world.enabled,
    limits: {
      messages: rateLimiter('messages', rl.messagesPerSecond, 1),
      // One event per interval: a single point that refills when the interval ends.
      typing: rateLimiter('typing', rl.typingIntervalSeconds > 0 ? 1 : 0, rl.typingIntervalSeconds),
    },
    social: socialPolicy,
    groups,
    uploads,
    events,
  });
  return { accounts, tokens, captcha, friends, groups, socialPolicy, messages, uploads };
}

/** Server-to-server federation, when enabled (its storage comes from the engines). */
async function initFederation(
  config: Config,
  logger: Logger,
  engines: Engines,
  metrics: Metrics,
): Promise<Federation | null> {
  if (!config.federation.enabled) return null;
  if (!engines.federation) throw new Error(`federation is not available in the ${engines.mode} mode`);
  const { pool, shortLived } = engines.federation;
  // Loaded only when enabled (its MySQL-backed key stores bring the MySQL client with them).
  const { Federation } =
    require('./modules/federation/federation.service') as typeof import('./modules/federation/federation.service');
  const federation = new Federation({ config: config.federation, pool, shortLived, logger, metrics });
  await federation.start();
  return federation;
}

/** Phase 4: the Express app with every route module, handed the server's requests. */
function initHttp(
  config: Config,
  logger: Logger,
  engines: Engines,
  metrics: Metrics,
  services: Services,
  transports: Transports,
  federation: Federation | null,
): Express {
  const { accounts, captcha, friends, groups, messages, uploads } = services;
  const { tokens } = transports;
  const rl = config.rateLimit;
  const limiter = engines.rateLimiter;
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
  if (federation) {
    const { federationRoutes } =
      require('./modules/federation/federation.routes') as typeof import('./modules/federation/federation.routes');
    modules.push(federationRoutes(federation, config.federation.domain));
  }
  const app = buildApp({
    config,
    logger,
    metrics,
    healthChecks: engines.healthChecks,
    modules,
    origins: transports.origins,
  });
  transports.server.on('request', app);
  return app;
}

/**
 * Phase 5: background work, the gateway (registered and subscribed, accepting upgrades), and listening,
 * last; the stop hooks in the order the lifecycle runs them.
 */
async function startServing(
  config: Config,
  logger: Logger,
  lifecycle: Lifecycle,
  services: Services,
  transports: Transports,
): Promise<void> {
  const { uploads } = services;
  const { server, gateway } = transports;
  await uploads.init();
  const sweep = setInterval(() => {
    uploads.sweep().catch((err: unknown) => logger.warn({ err }, 'upload sweep failed'));
  }, config.uploads.sweepIntervalSeconds * 1000);
  sweep.unref();
  lifecycle.onStop(Phase.StopAccepting, 'uploads-sweep', async () => clearInterval(sweep));

  await gateway.start();
  lifecycle.onStop(Phase.StopAccepting, 'gateway-accepting', () => gateway.stopAccepting());
  lifecycle.onStop(Phase.CloseSockets, 'gateway', () => gateway.stop());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  lifecycle.onStop(Phase.DrainHttp, 'http', () => drainHttp(server, config.server.shutdownTimeoutMs));
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, workers: workerCount(config), mode: config.mode }, 'instance listening');
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
