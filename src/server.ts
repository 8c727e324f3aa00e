import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Config } from './config';
import { buildApp, type RouteModule } from './app';
import { createMysqlPool, migrate, type Pool } from './infra/mysql';
import { closeRedisClients, createRedisClients, type RedisClients } from './infra/redis';
import type { HealthCheck } from './http/service.routes';
import { Lifecycle, Phase } from './shared/lifecycle';
import { createLogger, type Logger } from './shared/logger';
import { Metrics } from './shared/metrics';
import { AccountsService } from './modules/accounts/accounts.service';
import { MysqlAccountsStore } from './modules/accounts/accounts.store.mysql';
import { CaptchaService } from './modules/accounts/captcha.service';
import { LoginFailures, RateLimit } from './modules/accounts/login-throttle';
import { TokenService } from './modules/accounts/tokens';
import { accountsRoutes } from './modules/accounts/accounts.routes';
import { Gateway } from './gateway/gateway';

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
  };
  /** The WebSocket gateway: `delivery` and `frames` for the modules, `presence`, `setPresenceAudience`. */
  gateway: Gateway;
  /** Graceful stop (does not exit the process). */
  stop: () => Promise<void>;
}

/** Composition root: config → clients → stores → services → http + ws → lifecycle. */
export async function startInstance(
  config: Config,
  logger: Logger = createLogger({ level: config.log.level }),
): Promise<Instance> {
  const lifecycle = new Lifecycle(logger);
  const metrics = new Metrics();

  const mysql = await createMysqlPool(config.mysql.url, config.mysql.poolSize);
  lifecycle.onStop(Phase.CloseClients, 'mysql', () => mysql.end());
  await migrate(mysql, path.resolve(__dirname, '../sql'), logger);

  const redis = await createRedisClients(config.redis.url, config.redis.prefix);
  lifecycle.onStop(Phase.CloseClients, 'redis', () => closeRedisClients(redis));

  const tokens = new TokenService(
    redis.command,
    redis.keys,
    config.auth.jwtSecret,
    config.auth.tokenTtlSeconds,
  );
  const captcha = new CaptchaService(
    redis.command,
    redis.keys,
    config.captcha.ttlSeconds,
    config.captcha.enabled,
  );
  const accountsStore = new MysqlAccountsStore(mysql);
  const accounts = new AccountsService({
    store: accountsStore,
    tokens,
    captcha,
    loginFailures: new LoginFailures(
      redis.command,
      redis.keys,
      config.auth.loginFailuresBeforeCaptcha,
      config.auth.loginFailureWindowSeconds,
    ),
    logger,
  });

  const healthChecks: HealthCheck[] = [
    { name: 'mysql', check: async () => void (await mysql.query('SELECT 1')) },
    { name: 'redis', check: async () => void (await redis.command.ping()) },
  ];

  const modules: RouteModule[] = [
    accountsRoutes({
      accounts,
      captcha,
      tokens,
      limits: {
        login: new RateLimit(redis.command, redis.keys, 'login', config.rateLimit.loginPerMinute),
        register: new RateLimit(redis.command, redis.keys, 'register', config.rateLimit.registerPerMinute),
        captcha: new RateLimit(redis.command, redis.keys, 'captcha', config.rateLimit.captchaPerMinute),
      },
    }),
  ];

  const app = buildApp({ config, logger, metrics, healthChecks, modules });
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
    redis,
    choices: async (ids) => new Map((await accountsStore.findByIds(ids)).map((u) => [u.id, u.presence])),
    logger,
    metrics,
  });
  await gateway.start();
  accounts.setPresence(gateway.presence, gateway.presence);
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
    services: { accounts, tokens },
    gateway,
    stop: () => lifecycle.stop(),
  };
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
